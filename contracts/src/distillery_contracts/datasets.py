"""``distillery.datasets.built.v1``: a training set that is written and ready to fine-tune on."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, Field, JsonValue

from distillery_contracts.base import Event
from distillery_contracts.common import Count, Rate, TimeRange, Usd


class DatasetFile(BaseModel):
    """One file of a dataset in blob storage."""

    uri: str = Field(min_length=1, description="Where the file is: file:///... or s3://bucket/key.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hex SHA-256 of the file's bytes.")
    size_bytes: Count = Field(description="File size in bytes.")


class DatasetFiles(BaseModel):
    """The files a build writes."""

    train: DatasetFile = Field(description="train.jsonl, one chat fine-tuning example a line.")
    validation: DatasetFile = Field(description="validation.jsonl, same format.")
    manifest: DatasetFile = Field(description="manifest.json: counts, tokens, cost, lineage.")


class DatasetCounts(BaseModel):
    """How many examples and calls went where."""

    train_examples: Count = Field(description="Examples in train.jsonl.")
    validation_examples: Count = Field(description="Examples in validation.jsonl.")
    train_sessions: Count = Field(description="Distinct sessions (calls) in the train split.")
    validation_sessions: Count = Field(description="Distinct sessions in the validation split.")
    candidate_examples: Count = Field(
        description="Stored examples eligible before selection (cleaner version, time range)."
    )


class TokenStats(BaseModel):
    """Token counts with the base model's tokenizer (billing count, per-message overhead included)."""

    train_tokens: Count = Field(description="Total tokens in the train split (one epoch).")
    validation_tokens: Count = Field(description="Total tokens in the validation split.")
    mean_per_example: float = Field(ge=0.0, description="Mean tokens per example.")
    p50_per_example: Count = Field(description="Median tokens per example.")
    p95_per_example: Count = Field(description="95th percentile of tokens per example.")
    max_per_example: Count = Field(description="Tokens of the largest example.")


class SelectionParameters(BaseModel):
    """The parameters that chose the examples; same parameters and store give the same files."""

    target_size: Count = Field(description="Requested number of examples (train plus validation).")
    max_examples_per_session: Count | None = Field(
        default=None, description="Cap per session so that a few long calls cannot dominate."
    )
    stratify_by: list[str] = Field(
        default_factory=list,
        description="Tag prefixes the selection is stratified by, e.g. ['intent'].",
    )
    validation_fraction: Rate = Field(description="Share of sessions hashed into validation.")
    cleaner_version: str | None = Field(
        default=None, description="Cleaner version the examples were drawn from (None: newest)."
    )
    near_duplicate_threshold: Rate | None = Field(
        default=None,
        description="Jaccard threshold used to exclude near-duplicates of eval examples.",
    )
    extra: dict[str, JsonValue] = Field(default_factory=dict, description="Any other parameter.")


class BuildTrigger(StrEnum):
    """What started a dataset build."""

    THRESHOLD = "threshold"
    SCHEDULE = "schedule"
    COMMAND = "command"


class DatasetBuilt(Event):
    """A validated dataset whose files and manifest are written and complete."""

    event_type: ClassVar[str] = "DatasetBuilt"
    schema_version: ClassVar[int] = 1

    dataset_id: str = Field(min_length=1, description="Unique id of this build.")
    version: int = Field(ge=1, description="Build number, increasing by one per published build.")
    cycle_id: str | None = Field(
        default=None, description="Distillation cycle the dataset starts (the correlation id)."
    )
    base_model: str = Field(
        min_length=1, description="Model to fine-tune, e.g. 'gpt-4o-mini-2024-07-18'."
    )
    files: DatasetFiles = Field(description="Train, validation and manifest files.")
    counts: DatasetCounts = Field(description="Example and session counts.")
    token_stats: TokenStats = Field(description="Token statistics with the base model's tokenizer.")
    estimated_training_cost_usd: Usd = Field(
        description="train_tokens x epochs x the base model's training price."
    )
    epochs: int = Field(ge=1, description="Epochs the estimate assumes and the job will request.")
    cleaner_versions: list[str] = Field(
        min_length=1, description="Cleaner versions of the examples included."
    )
    source_time_range: TimeRange = Field(
        description="Capture times of the oldest and newest example."
    )
    selection: SelectionParameters = Field(description="How the examples were selected.")
    excluded_eval_near_duplicates: Count = Field(
        description="Examples left out because they were near-duplicates of an evaluation example."
    )
    trigger: BuildTrigger | None = Field(default=None, description="What started the build.")
    built_at: AwareDatetime = Field(description="When the build was published.")

    def event_id(self) -> str:
        return f"{self.dataset_id}:v{self.version}"

    def partition_key(self) -> str:
        return self.dataset_id

"""The dataset-builder's settings, read from ``DISTILLERY_DATASET_*`` environment variables.

Every threshold is configurable so that the demo can build a dataset from ~150 examples
in minutes while production waits for 80,000.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from croniter import croniter
from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from distillery_runtime.settings import BlobStoreSettings

DEFAULT_BASE_MODEL = "gpt-4o-mini-2024-07-18"
QUARTERLY = "0 0 1 */3 *"
SCHEDULE_OFF = ("", "off", "none")


class DatasetBuilderSettings(BlobStoreSettings):
    """When to build, how to select and split, where the files go."""

    model_config = SettingsConfigDict(env_prefix="DISTILLERY_DATASET_", extra="ignore", env_ignore_empty=True)

    build_threshold: int = Field(
        default=80_000, ge=1, description="New examples since the last build that trigger a build.")
    schedule: str = Field(
        default=QUARTERLY, description="Cron expression (UTC) for scheduled builds; 'off' disables them.")
    check_interval_s: float = Field(default=30.0, gt=0, description="How often triggers are checked.")
    target_size: int = Field(default=100_000, ge=10, description="Examples per dataset (train + validation).")
    pool_factor: float = Field(
        default=2.0, ge=1.0,
        description="The newest target_size x pool_factor examples are the candidates selection draws from.")
    max_examples_per_session: int | None = Field(
        default=25, ge=1, description="Newest examples kept per session (call); None: no cap.")
    stratify_by: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["intent"],
        description="Tag prefixes to stratify by ('intent' also reads the intent field); comma-separated.")
    stratify_mode: Literal["proportional", "balanced"] = Field(
        default="proportional",
        description="proportional: strata keep their share of the candidates; balanced: equal shares.")
    validation_fraction: float = Field(
        default=0.05, gt=0.0, lt=1.0, description="Share of sessions hashed into the validation split.")
    cleaner_version: str | None = Field(
        default=None, description="Cleaner version to draw from; None: the newest version seen.")
    near_duplicate_threshold: float = Field(
        default=0.8, gt=0.0, le=1.0,
        description="Estimated Jaccard similarity at which a train example counts as a copy of an eval one.")
    golden_set: Path | None = Field(
        default=None, description='JSONL of {"id", "messages", "reference"?} kept out of training data.')
    base_model: str = Field(default=DEFAULT_BASE_MODEL, min_length=1, description="Model to fine-tune.")
    epochs: int = Field(default=3, ge=1, le=50, description="Epochs the cost estimate and the job assume.")
    max_example_tokens: int | None = Field(
        default=None, ge=1, description="Override the base model's per-example token limit (a longer example is "
        "passed over when a build draws its candidates). For an open-weights student, distillery train --check "
        "prints the value that keeps examples within its max_length.")
    example_retention_days: float = Field(
        default=120.0, gt=0,
        description="Days an accepted example (a caller's redacted words) is kept after it was stored, unless a "
        "build in progress holds it; builds draw from the newest, and a quarterly schedule needs 90 days. "
        "Published datasets keep their own files.")
    max_build_attempts: int = Field(
        default=3, ge=1, description="Crashed attempts of one build before it is discarded for good.")
    datasets_dir: Path | None = Field(
        default=None, description="Local directory of datasets; default <DISTILLERY_HOME>/datasets.")
    s3_prefix: str = Field(default="datasets", description="Key prefix of datasets in the bucket.")

    @field_validator("stratify_by", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        value = value.strip()
        if value.lower() in SCHEDULE_OFF:
            return ""
        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression (e.g. {QUARTERLY!r} for quarterly, or 'off')")
        return value

    def datasets_root(self, home: Path) -> Path:
        """The local directory datasets are written to (or staged in, for S3)."""
        return (self.datasets_dir or Path(home) / "datasets").resolve()

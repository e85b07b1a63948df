"""``distillery.examples.accepted.v1`` and ``.rejected.v1``: the cleaner's verdicts."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Self

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from distillery_contracts.base import Event, stable_hash
from distillery_contracts.common import Count
from distillery_contracts.messages import FineTuneMessage, ToolDefinition
from distillery_contracts.shared_tools import SHARED_TOOLS


def derive_example_id(content_hash: str, cleaner_version: str, config_hash: str) -> str:
    """Id of an accepted example: the same content under the same cleaner gets the same id.

    A replay under the same code and configuration reproduces every id; a new cleaner
    version or configuration produces a new, separate set.
    """
    return "ex-" + stable_hash(content_hash, cleaner_version, config_hash)


def derive_rejection_id(observation_id: str, cleaner_version: str, config_hash: str) -> str:
    """Id of a rejection: one verdict per observation per cleaner version and configuration."""
    return "rj-" + stable_hash(observation_id, cleaner_version, config_hash)


class Lineage(BaseModel):
    """Where an example came from: enough to find its Langfuse observation again."""

    project_id: str = Field(min_length=1, description="Langfuse project.")
    observation_id: str = Field(
        min_length=1, description="Langfuse observation id of the generation."
    )
    trace_id: str = Field(min_length=1, description="Langfuse trace id.")
    session_id: str | None = Field(default=None, description="Session (call) id.")
    captured_at: AwareDatetime = Field(description="Start time of the source generation.")
    model: str | None = Field(
        default=None, description="Model that produced the source generation."
    )

    def partition_key(self) -> str:
        """Session id, or the trace id for generations outside a session."""
        return self.session_id or self.trace_id


class ExampleAccepted(Event):
    """A generation that passed every filter, normalised into a fine-tuning example."""

    event_type: ClassVar[str] = "ExampleAccepted"
    schema_version: ClassVar[int] = 1

    example_id: str = Field(
        min_length=1, description="derive_example_id(content hash, cleaner version, config hash)."
    )
    cleaner_version: str = Field(min_length=1, description="Version of the cleaner's code.")
    config_hash: str = Field(min_length=1, description="Hash of the cleaner configuration used.")
    messages: list[FineTuneMessage] = Field(
        min_length=2, description="The example in OpenAI's chat fine-tuning format, PII redacted."
    )
    tools: list[ToolDefinition] = Field(
        default_factory=list, description="Tools declared for the example, when the call used them."
    )
    lineage: Lineage = Field(description="Source generation of the example.")
    tags: list[str] = Field(
        default_factory=list, description="Tags carried over for stratification."
    )
    intent: str | None = Field(default=None, description="Call intent, e.g. 'booking', when known.")
    token_count: Count = Field(description="Tokens of the example with the base model's tokenizer.")
    redactions: dict[str, Count] = Field(
        default_factory=dict,
        description="How many values of each PII type were replaced, e.g. {'PHONE': 1}.",
    )
    accepted_at: AwareDatetime = Field(description="When the cleaner accepted the example.")

    @classmethod
    def decode_json(cls, body: bytes) -> Self:
        """The example ``body`` holds, exactly as ``model_validate_json`` reads it (or its error),
        with its tools list validated once per distinct list (``shared_tools``)."""
        return SHARED_TOOLS.decode(cls, body)

    def event_id(self) -> str:
        return self.example_id

    def partition_key(self) -> str:
        return self.lineage.partition_key()


class RejectReason(StrEnum):
    """Why the cleaner dropped a generation."""

    INCOMPLETE = "incomplete"
    TRUNCATED = "truncated"
    ERROR = "error"
    HALLUCINATION = "hallucination"
    NOT_TEACHER = "not_teacher"
    TOO_MANY_TURNS = "too_many_turns"
    TOO_FEW_TURNS = "too_few_turns"
    TOO_LONG = "too_long"
    TOO_MANY_TOKENS = "too_many_tokens"
    EMPTY_CONTENT = "empty_content"
    NON_TEXT_CONTENT = "non_text_content"
    PII = "pii"
    DUPLICATE_EXACT = "duplicate_exact"
    DUPLICATE_NEAR = "duplicate_near"
    UNMAPPABLE = "unmappable"


DUPLICATE_REASONS = frozenset({RejectReason.DUPLICATE_EXACT, RejectReason.DUPLICATE_NEAR})


class ExampleRejected(Event):
    """A generation the cleaner dropped, with the reason: the audit trail of every drop."""

    event_type: ClassVar[str] = "ExampleRejected"
    schema_version: ClassVar[int] = 1

    rejection_id: str = Field(
        min_length=1,
        description="derive_rejection_id(observation id, cleaner version, config hash).",
    )
    cleaner_version: str = Field(min_length=1, description="Version of the cleaner's code.")
    config_hash: str = Field(min_length=1, description="Hash of the cleaner configuration used.")
    reason: RejectReason = Field(description="The first filter that rejected the generation.")
    detail: str = Field(
        description="What exactly failed, e.g. 'output_tokens 256 == max_tokens'; never PII values."
    )
    lineage: Lineage = Field(description="Source generation.")
    duplicate_of: str | None = Field(
        default=None, description="For duplicate reasons: the example id that was kept instead."
    )
    rejected_at: AwareDatetime = Field(description="When the cleaner rejected the generation.")

    @model_validator(mode="after")
    def _duplicate_of_matches_reason(self) -> ExampleRejected:
        if self.reason in DUPLICATE_REASONS and not self.duplicate_of:
            raise ValueError(f"reason {self.reason} needs duplicate_of (the example that was kept)")
        if self.reason not in DUPLICATE_REASONS and self.duplicate_of:
            raise ValueError(f"duplicate_of is only set for duplicate reasons, not {self.reason}")
        return self

    def event_id(self) -> str:
        return self.rejection_id

    def partition_key(self) -> str:
        return self.lineage.partition_key()

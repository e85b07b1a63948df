"""``distillery.traces.raw.v1``: production generations captured from Langfuse."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Self

from pydantic import AwareDatetime, BaseModel, Field, JsonValue

from distillery_contracts.base import Event, observation_event_id, stable_hash
from distillery_contracts.common import Cost, Millis, Score, Usage
from distillery_contracts.messages import ChatMessage, ToolDefinition
from distillery_contracts.shared_tools import SHARED_TOOLS


class ObservationLevel(StrEnum):
    """Langfuse observation level; ERROR marks a failed generation."""

    DEBUG = "DEBUG"
    DEFAULT = "DEFAULT"
    WARNING = "WARNING"
    ERROR = "ERROR"


class ModelParameters(BaseModel):
    """Sampling parameters the generation was requested with."""

    max_tokens: int | None = Field(
        default=None,
        ge=1,
        description="Output token limit; output usage equal to it means truncation.",
    )
    temperature: float | None = Field(default=None, ge=0.0, description="Sampling temperature.")
    top_p: float | None = Field(default=None, ge=0.0, le=1.0, description="Nucleus sampling mass.")
    extra: dict[str, JsonValue] = Field(
        default_factory=dict, description="Any other parameter Langfuse recorded, as given."
    )


class TraceCaptured(Event):
    """One Langfuse GENERATION observation: what the model was asked and what it answered.

    Published once per observation (its event id is ``<project>:<observation id>``, see
    :func:`observation_event_id`) and keyed by the call's session id so that the turns of one
    call stay in order.
    """

    event_type: ClassVar[str] = "TraceCaptured"
    schema_version: ClassVar[int] = 1

    project_id: str = Field(min_length=1, description="Langfuse project the generation belongs to.")
    observation_id: str = Field(
        min_length=1, description="Langfuse observation id (unique per project)."
    )
    trace_id: str = Field(min_length=1, description="Langfuse trace id (one turn of a call).")
    session_id: str | None = Field(default=None, description="Langfuse session id: the phone call.")
    user_id: str | None = Field(
        default=None, description="Langfuse user id (the caller or tenant)."
    )
    environment: str | None = Field(
        default=None, description="Langfuse environment, e.g. 'production' or 'default'."
    )
    name: str | None = Field(default=None, description="Observation name given by the application.")
    start_time: AwareDatetime = Field(description="When the request was sent to the model.")
    end_time: AwareDatetime | None = Field(
        default=None, description="When the answer was complete."
    )
    completion_start_time: AwareDatetime | None = Field(
        default=None, description="When the first output token arrived (streaming)."
    )
    latency_ms: Millis | None = Field(default=None, description="end_time minus start_time.")
    time_to_first_token_ms: Millis | None = Field(
        default=None, description="completion_start_time minus start_time."
    )
    model: str | None = Field(
        default=None, description="Model name as the application provided it, e.g. 'gpt-4.1'."
    )
    model_parameters: ModelParameters = Field(
        default_factory=ModelParameters, description="Sampling parameters of the request."
    )
    input_messages: list[ChatMessage] = Field(
        description="The request's messages in order, system prompt and tool messages included."
    )
    output: ChatMessage | None = Field(
        default=None, description="The assistant's answer; None when the call produced none."
    )
    tools: list[ToolDefinition] = Field(
        default_factory=list, description="Tools offered to the model with the request."
    )
    finish_reason: str | None = Field(
        default=None,
        description="Provider finish reason where recorded: stop, length, tool_calls, content_filter.",
    )
    usage: Usage = Field(default_factory=Usage, description="Token usage reported for the call.")
    cost: Cost = Field(default_factory=Cost, description="Cost computed by Langfuse, in USD.")
    level: ObservationLevel = Field(
        default=ObservationLevel.DEFAULT, description="Observation level; ERROR means it failed."
    )
    status_message: str | None = Field(
        default=None, description="Status or error message recorded with the observation."
    )
    tags: list[str] = Field(default_factory=list, description="Trace tags, e.g. the call intent.")
    metadata: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Observation metadata; the router records arm, rollout_id, stage and call_id here.",
    )
    prompt_name: str | None = Field(default=None, description="Langfuse prompt the request used.")
    prompt_version: int | None = Field(default=None, ge=1, description="Version of that prompt.")
    scores: list[Score] = Field(
        default_factory=list, description="Scores known when the generation was published."
    )
    ingested_at: AwareDatetime = Field(description="When the trace-ingester read the observation.")

    @classmethod
    def decode_json(cls, body: bytes) -> Self:
        """The generation ``body`` holds, exactly as ``model_validate_json`` reads it (or its error),
        with its tools list validated once per distinct list (``shared_tools``): every turn of every
        call sends the same few lists, a quarter of a generation's JSON and of its validation.
        """
        return SHARED_TOOLS.decode(cls, body)

    def event_id(self) -> str:
        return observation_event_id(self.project_id, self.observation_id)

    def partition_key(self) -> str:
        return self.session_id or self.trace_id


class TraceScored(Event):
    """Scores that reached Langfuse after their generation had been published.

    Consumers merge them into what they know of the generation; the event id is derived
    from the observation and the score ids, so the same late scores are applied once.
    """

    event_type: ClassVar[str] = "TraceScored"
    schema_version: ClassVar[int] = 1

    project_id: str = Field(min_length=1, description="Langfuse project of the generation.")
    observation_id: str = Field(min_length=1, description="The scored generation's observation id.")
    trace_id: str = Field(min_length=1, description="Langfuse trace id of the generation.")
    session_id: str | None = Field(
        default=None, description="Session (call) id, the partition key."
    )
    scores: list[Score] = Field(min_length=1, description="The scores that arrived late.")

    def event_id(self) -> str:
        score_ids = sorted(s.score_id for s in self.scores)
        observation = observation_event_id(self.project_id, self.observation_id)
        return f"{observation}:scores:{stable_hash(*score_ids, length=16)}"

    def partition_key(self) -> str:
        return self.session_id or self.trace_id

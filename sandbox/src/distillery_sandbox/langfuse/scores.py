"""`POST /api/public/scores`: one CreateScoreRequest (the spec), or a list (SDK 5.x batches)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from distillery_sandbox.langfuse.filters import validation_problems
from distillery_sandbox.langfuse.records import new_score

_ENVIRONMENT = re.compile(r"^(?!langfuse)[a-z0-9_-]+$")


class CreateScore(BaseModel):
    """CreateScoreRequest, in the API's camelCase; unknown fields (e.g. the SDK's
    `timestamp`) are accepted as Langfuse accepts them."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str | None = None
    trace_id: str | None = Field(None, alias="traceId")
    session_id: str | None = Field(None, alias="sessionId")
    observation_id: str | None = Field(None, alias="observationId")
    dataset_run_id: str | None = Field(None, alias="datasetRunId")
    name: str = Field(min_length=1)
    value: float | str
    comment: str | None = None
    metadata: dict[str, Any] | None = None
    environment: str | None = None
    queue_id: str | None = Field(None, alias="queueId")
    data_type: str | None = Field(None, alias="dataType")
    config_id: str | None = Field(None, alias="configId")
    source: str | None = None
    timestamp: datetime | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _keep_strings(cls, value: Any) -> Any:
        # Without this, "0.9" would be coerced to a float and a categorical "1" too.
        if isinstance(value, bool):
            return float(value)
        return value


class ScoreRejected(ValueError):
    """A score the API refuses; the message says why."""


def accept_score(body: Any, project_id: str, now: datetime) -> dict[str, Any]:
    """Validate one score body and return it in stored form, or raise ScoreRejected."""
    try:
        request = CreateScore.model_validate(body)
    except ValidationError as exc:
        raise ScoreRejected(f"invalid score: {validation_problems(exc)}") from exc
    data_type = (request.data_type or "NUMERIC").upper()
    value = _checked_value(request.value, data_type)
    _check_subject(request)
    environment = request.environment or "default"
    if not _ENVIRONMENT.match(environment):
        raise ScoreRejected("environment must be lowercase letters, digits, '-' or '_' and "
                            "must not start with 'langfuse'")
    source = (request.source or "API").upper()
    if source not in ("API", "ANNOTATION"):
        raise ScoreRejected("source must be API or ANNOTATION (EVAL is reserved)")
    timestamp = request.timestamp or now
    if timestamp.tzinfo is None:
        raise ScoreRejected("timestamp needs a UTC offset")
    return new_score(
        project_id, score_id=request.id or str(uuid.uuid4()), name=request.name, value=value,
        data_type=data_type, source=source, timestamp=timestamp, environment=environment,
        comment=request.comment, trace_id=request.trace_id, observation_id=request.observation_id,
        session_id=request.session_id, dataset_run_id=request.dataset_run_id,
        config_id=request.config_id, metadata=request.metadata, queue_id=request.queue_id,
    )


def _checked_value(value: float | str, data_type: str) -> float | str:
    if data_type in ("NUMERIC", "BOOLEAN"):
        if isinstance(value, str):
            raise ScoreRejected(f"a {data_type} score needs a numeric value, got {value!r}")
        if data_type == "BOOLEAN" and value not in (0, 1):
            raise ScoreRejected(f"a BOOLEAN score value must be 0 or 1, got {value}")
        return float(value)
    if data_type in ("CATEGORICAL", "TEXT", "CORRECTION"):
        if not isinstance(value, str):
            raise ScoreRejected(f"a {data_type} score needs a string value, got {value!r}")
        if data_type == "TEXT" and not 1 <= len(value) <= 500:
            raise ScoreRejected("a TEXT score value must be 1 to 500 characters")
        return value
    raise ScoreRejected(f"unknown dataType {data_type!r}; use NUMERIC, BOOLEAN, CATEGORICAL, "
                        "TEXT or CORRECTION")


def _check_subject(request: CreateScore) -> None:
    if request.observation_id and not request.trace_id:
        raise ScoreRejected("observationId requires traceId")
    if not (request.trace_id or request.session_id or request.dataset_run_id):
        raise ScoreRejected("a score needs traceId (optionally with observationId), "
                            "sessionId or datasetRunId")

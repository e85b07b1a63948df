"""A Langfuse GENERATION observation (v2 API shape) to the ``TraceCaptured`` contract.

``observation_to_trace`` is the one entry point; the offline ``distillery clean`` command
uses it too, so its name and signature stay as they are. It is pure: same observation,
scores and ``ingested_at`` give the same event.

It is also the text-safety edge of everything read from Langfuse (pages, exports): lone
surrogates and NUL become U+FFFD before anything is mapped (``distillery_runtime.text``),
so no event it returns fails to serialise or to be stored downstream.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from distillery_contracts.traces import ObservationLevel, TraceCaptured
from distillery_trace_ingester.domain import measures
from distillery_trace_ingester.domain.chat import parse_input, parse_output
from distillery_trace_ingester.domain.errors import UnmappableObservation, describe_validation, readable
from distillery_trace_ingester.domain.json_text import json_or_text
from distillery_trace_ingester.domain.scores import score_from_langfuse

__all__ = ["UnmappableObservation", "observation_to_trace"]

_LEVELS = {level.value for level in ObservationLevel}


def observation_to_trace(observation: dict, scores: list[dict], project_id: str,
                         ingested_at: datetime) -> TraceCaptured:
    """Map one generation and its observation-level scores; raise UnmappableObservation."""
    if not isinstance(observation, dict):
        raise UnmappableObservation("the record is not a JSON object")
    obs = readable(observation)
    kind = obs.get("type")
    if kind not in (None, "GENERATION"):
        shown = kind if isinstance(kind, str) and len(kind) <= 20 else "unknown"
        raise UnmappableObservation(f"observation type is {shown}, not GENERATION")
    start = measures.parse_time(obs.get("startTime"), "startTime", required=True)
    end = measures.parse_time(obs.get("endTime"), "endTime")
    first_token = measures.parse_time(obs.get("completionStartTime"), "completionStartTime")
    messages, tools = parse_input(obs.get("input"))
    output, finish_reason = parse_output(obs.get("output"))
    metadata = _metadata(obs.get("metadata"))
    parsed_scores = sorted((score_from_langfuse(s) for s in scores),
                           key=lambda s: (s.timestamp, s.score_id))
    fields: dict[str, Any] = {
        "project_id": project_id,
        "observation_id": _text(obs.get("id")),
        "trace_id": _text(obs.get("traceId")),
        "session_id": _text(obs.get("sessionId")),
        "user_id": _text(obs.get("userId")),
        "environment": _text(obs.get("environment")),
        "name": _text(obs.get("name")),
        "start_time": start,
        "end_time": end,
        "completion_start_time": first_token,
        "latency_ms": measures.elapsed_ms(start, end, obs.get("latency")),
        "time_to_first_token_ms": measures.elapsed_ms(start, first_token, obs.get("timeToFirstToken")),
        "model": _text(obs.get("providedModelName")) or _text(obs.get("model")),
        "model_parameters": measures.model_parameters(obs.get("modelParameters")),
        "input_messages": messages,
        "output": output,
        "tools": tools,
        "finish_reason": finish_reason or _text(metadata.get("finish_reason")),
        "usage": measures.usage(obs.get("usageDetails")),
        "cost": measures.cost(obs.get("costDetails"), obs.get("totalCost")),
        "level": _level(obs.get("level")),
        "status_message": _text(obs.get("statusMessage")),
        "tags": _tags(obs.get("tags")),
        "metadata": metadata,
        "prompt_name": _text(obs.get("promptName")),
        "prompt_version": _prompt_version(obs.get("promptVersion")),
        "scores": parsed_scores,
        "ingested_at": ingested_at,
    }
    if not fields["observation_id"]:
        raise UnmappableObservation("observation has no id")
    if not fields["trace_id"]:
        raise UnmappableObservation("observation has no traceId")
    try:
        return TraceCaptured.model_validate(fields)
    except ValidationError as exc:
        raise UnmappableObservation(describe_validation(exc, "generation")) from None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text or None


def _level(value: Any) -> ObservationLevel:
    if value is None:
        return ObservationLevel.DEFAULT
    if not isinstance(value, str) or value not in _LEVELS:  # a list or an object is no level either
        raise UnmappableObservation(f"level is not one of {sorted(_LEVELS)}")
    return ObservationLevel(value)


def _metadata(value: Any) -> dict[str, Any]:
    """Metadata as an object: JSON text is decoded, anything else is kept under 'value'."""
    if value is None:
        return {}
    value = json_or_text(value)
    return value if isinstance(value, dict) else {"value": value}


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise UnmappableObservation("tags is not a list")
    return [str(tag) for tag in value]


def _prompt_version(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        version = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        raise UnmappableObservation("promptVersion is not a number") from None
    return version if version >= 1 else None

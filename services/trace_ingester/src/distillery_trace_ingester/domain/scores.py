"""Langfuse scores as the ``Score`` contract: v3 API, v1/v2 API and blob-export shapes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from distillery_contracts.common import Score, ScoreDataType, ScoreSource
from distillery_trace_ingester.domain.errors import UnmappableObservation, describe_validation, readable
from distillery_trace_ingester.domain.measures import parse_time

_TEXT_TYPES = {ScoreDataType.CATEGORICAL, ScoreDataType.TEXT, ScoreDataType.CORRECTION}


def _get(raw: dict[str, Any], camel: str, snake: str) -> Any:
    return raw.get(camel) if raw.get(camel) is not None else raw.get(snake)


def score_observation_id(raw: dict[str, Any]) -> str | None:
    """The observation a score is attached to; None for trace, session or run scores."""
    subject = raw.get("subject")
    if isinstance(subject, dict):
        return str(subject["id"]) if subject.get("kind") == "observation" and subject.get("id") else None
    target = _get(raw, "observationId", "observation_id")
    return str(target) if target else None


def group_by_observation(scores: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Observation-level scores by observation id, each score once (the last copy wins)."""
    grouped: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for raw in scores:
        target = score_observation_id(raw)
        if target is not None and raw.get("id"):
            grouped[target][str(raw["id"])] = raw
    return {target: list(by_id.values()) for target, by_id in grouped.items()}


def score_from_langfuse(raw: dict[str, Any]) -> Score:
    """One score as the contract carries it; raises UnmappableObservation when unreadable."""
    raw = readable(raw)
    score_id = raw.get("id")
    where = f"score {score_id}" if isinstance(score_id, str) and len(score_id) <= 64 else "a score"
    value = raw.get("value")
    data_type = _data_type(_get(raw, "dataType", "data_type"), value, where)
    try:
        numeric, text = _value(data_type, value, _get(raw, "stringValue", "string_value"))
    except OverflowError:  # a JSON integer beyond any float: Python's parser reads it whole
        raise UnmappableObservation(f"{where} has a value beyond a float") from None
    try:
        source = ScoreSource(str(raw.get("source") or "API").upper())
    except ValueError:
        raise UnmappableObservation(f"{where} has an unknown source") from None
    timestamp = parse_time(raw.get("timestamp"), f"{where} timestamp", required=True)
    try:
        return Score(
            score_id=str(score_id or ""), name=str(raw.get("name") or ""), value=numeric,
            string_value=text, data_type=data_type, source=source, timestamp=timestamp,
            comment=raw.get("comment") if isinstance(raw.get("comment"), str) else None,
        )
    except ValidationError as exc:
        raise UnmappableObservation(describe_validation(exc, where)) from None


def _data_type(declared: Any, value: Any, where: str) -> ScoreDataType:
    if declared is None:
        if isinstance(value, bool):
            return ScoreDataType.BOOLEAN
        return ScoreDataType.NUMERIC if isinstance(value, int | float) else ScoreDataType.CATEGORICAL
    try:
        return ScoreDataType(str(declared).upper())
    except ValueError:
        raise UnmappableObservation(f"{where} has an unknown dataType") from None


def _value(data_type: ScoreDataType, value: Any, string_value: Any) -> tuple[float | None, str | None]:
    if data_type is ScoreDataType.BOOLEAN:
        truth = value if isinstance(value, bool) else _truthy(value, string_value)
        return (1.0 if truth else 0.0), ("True" if truth else "False")
    if data_type in _TEXT_TYPES:
        text = value if isinstance(value, str) else string_value
        return None, str(text) if text is not None else None
    if isinstance(value, str):
        try:
            return float(value), None
        except ValueError:
            return None, value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), None
    return None, None


def _truthy(value: Any, string_value: Any) -> bool:
    if isinstance(string_value, str):
        return string_value.strip().lower() in ("true", "1")
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)

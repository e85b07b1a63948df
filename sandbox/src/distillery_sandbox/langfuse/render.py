"""Stored records to API responses: ObservationV2 with field groups, ScoreV3 with its groups."""

from __future__ import annotations

import json
from typing import Any

from distillery_sandbox.langfuse.records import (
    ALWAYS_PRESENT,
    FIELD_GROUPS,
    METADATA_LIMIT,
    iso,
    observation_input,
)

_DATETIME_FIELDS = ("startTime", "endTime", "completionStartTime", "createdAt", "updatedAt")

SCORE_GROUPS: dict[str, tuple[str, ...]] = {
    "details": ("comment", "configId", "metadata"),
    "subject": ("subject",),
    "annotation": ("authorUserId", "queueId"),
}
"""The v3 scores `fields` groups beyond the core fields."""

_SCORE_CORE = ("id", "projectId", "name", "value", "dataType", "source", "timestamp",
               "environment", "createdAt", "updatedAt")


def render_observation(
    record: dict[str, Any], groups: tuple[str, ...], expand_metadata: frozenset[str]
) -> dict[str, Any]:
    """An ObservationV2 with only the requested field groups (core is always included)."""
    names = [name for group in ("core", *groups) for name in FIELD_GROUPS[group]]
    out: dict[str, Any] = {name: None for name in ALWAYS_PRESENT}
    for name in names:
        value = record.get("providedModelName" if name == "model" else name)
        if name == "input":
            value = observation_input(record)
        elif name in _DATETIME_FIELDS:
            value = iso(value)
        elif name == "metadata":
            value = _truncated_metadata(value or {}, expand_metadata)
        out[name] = value
    return out


def _truncated_metadata(metadata: dict[str, Any], expand: frozenset[str]) -> dict[str, Any]:
    """Values longer than 200 characters are cut, unless their key is in expandMetadata."""
    out = {}
    for key, value in metadata.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if key not in expand and len(text) > METADATA_LIMIT:
            out[key] = text[:METADATA_LIMIT] + "..."
        else:
            out[key] = value
    return out


def render_score(score: dict[str, Any], groups: tuple[str, ...]) -> dict[str, Any]:
    """A ScoreV3: the value typed by dataType, plus the requested field groups."""
    out = {name: score[name] for name in _SCORE_CORE}
    out["timestamp"] = iso(score["timestamp"])
    out["createdAt"], out["updatedAt"] = iso(score["createdAt"]), iso(score["updatedAt"])
    if score["dataType"] == "BOOLEAN":
        out["value"] = bool(score["value"])
    elif score["dataType"] == "NUMERIC":
        out["value"] = float(score["value"])
    else:
        out["value"] = str(score["value"])
    for group in groups:
        for name in SCORE_GROUPS[group]:
            out[name] = score_subject(score) if name == "subject" else score.get(name)
    return out


def score_subject(score: dict[str, Any]) -> dict[str, Any]:
    """What the score is attached to: the observation, else the trace, session or run."""
    if score.get("observationId"):
        return {"kind": "observation", "id": score["observationId"], "traceId": score.get("traceId")}
    if score.get("traceId"):
        return {"kind": "trace", "id": score["traceId"]}
    if score.get("sessionId"):
        return {"kind": "session", "id": score["sessionId"]}
    return {"kind": "experiment", "id": score["datasetRunId"]}

"""Query parameters of the list endpoints, checked the way Langfuse checks them.

Names and rules follow the OpenAPI document: `GET /api/public/v2/observations` and
`GET /api/public/v3/scores`. Anything the spec rejects raises QueryError (HTTP 400).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from distillery_sandbox.langfuse.filters import (
    FilterCondition,
    QueryError,
    condition_predicate,
    parse_datetime,
    parse_filter,
)
from distillery_sandbox.langfuse.records import DEFAULT_GROUPS, FIELD_GROUPS
from distillery_sandbox.langfuse.render import SCORE_GROUPS
from distillery_sandbox.langfuse.store import Key, PageRequest

LEVELS = ("DEBUG", "DEFAULT", "WARNING", "ERROR")
SCORE_DATA_TYPES = ("NUMERIC", "BOOLEAN", "CATEGORICAL", "TEXT", "CORRECTION")
SCORE_SOURCES = ("ANNOTATION", "API", "EVAL")


class Params(Protocol):
    """Starlette's QueryParams, or anything with get/getlist."""

    def get(self, key: str, default: Any = None) -> Any: ...
    def getlist(self, key: str) -> list[str]: ...


@dataclass(frozen=True)
class ListQuery:
    """A parsed list request: which page, and which field groups to render."""

    page: PageRequest
    groups: tuple[str, ...]
    expand_metadata: frozenset[str] = frozenset()


def encode_cursor(key: Key) -> str:
    payload = json.dumps({"t": key[0].isoformat(), "id": key[1]}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str) -> Key:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(payload["t"]), str(payload["id"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise QueryError("cursor is not valid; pass the cursor of a previous response") from exc


def _limit(params: Params, maximum: int) -> int:
    raw = params.get("limit")
    if raw in (None, ""):
        return 50
    try:
        limit = int(raw)
    except ValueError as exc:
        raise QueryError(f"limit must be an integer, got {raw!r}") from exc
    if not 1 <= limit <= maximum:
        raise QueryError(f"limit must be between 1 and {maximum}, got {limit}")
    return limit


def _groups(raw: str | None, known: Mapping[str, Any], default: tuple[str, ...]) -> tuple[str, ...]:
    if not raw:
        return default
    groups = tuple(dict.fromkeys(g.strip() for g in raw.split(",") if g.strip()))
    unknown = [g for g in groups if g not in known]
    if unknown:
        raise QueryError(f"unknown field group(s) {', '.join(unknown)}; available: {', '.join(known)}")
    return tuple(g for g in groups if g != "core")


def _csv(params: Params, name: str) -> list[str]:
    raw = params.get(name)
    return [part.strip() for part in raw.split(",") if part.strip()] if raw else []


def _bool(raw: str, name: str) -> bool:
    if raw.lower() not in ("true", "false"):
        raise QueryError(f"{name} must be true or false, got {raw!r}")
    return raw.lower() == "true"


def parse_observations_query(params: Params) -> ListQuery:
    """`GET /api/public/v2/observations` parameters to a page request."""
    if params.get("parseIoAsJson") and _bool(params.get("parseIoAsJson"), "parseIoAsJson"):
        raise QueryError("parseIoAsJson is deprecated and must not be true: input and output "
                         "are always returned as raw strings")
    groups = _groups(params.get("fields"), FIELD_GROUPS, DEFAULT_GROUPS)
    expand = frozenset(_csv(params, "expandMetadata"))
    cursor = params.get("cursor")
    after = decode_cursor(cursor) if cursor else None
    if params.get("filter"):
        conditions = parse_filter(params.get("filter"))
        predicates = [condition_predicate(c) for c in conditions]
        lower, upper = _start_bounds(conditions)
    else:
        predicates, lower, upper = _simple_observation_filters(params)
    page = PageRequest(limit=_limit(params, 1000), after=after, lower=lower, upper=upper,
                       predicate=_all(predicates))
    return ListQuery(page, groups, expand)


def _simple_observation_filters(params: Params):
    predicates: list[Callable[[dict], bool]] = []
    for name in ("name", "userId", "sessionId", "type", "traceId", "version"):
        value = params.get(name)
        if value:
            predicates.append(lambda r, n=name, v=value: r.get(n) == v)
    level = params.get("level")
    if level:
        if level not in LEVELS:
            raise QueryError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
        predicates.append(lambda r: r.get("level") == level)
    if "parentObservationId" in params:
        parent = params.get("parentObservationId") or None
        predicates.append(lambda r: r.get("parentObservationId") == parent)
    if params.get("isRootObservation"):
        root = _bool(params.get("isRootObservation"), "isRootObservation")
        predicates.append(lambda r: bool(r.get("isRootObservation")) == root)
    environments = {e for raw in params.getlist("environment") for e in raw.split(",") if e}
    if environments:
        predicates.append(lambda r: r.get("environment") in environments)
    lower = _optional_datetime(params, "fromStartTime")
    upper = _optional_datetime(params, "toStartTime")
    return predicates, lower, upper


def _start_bounds(conditions: list[FilterCondition]) -> tuple[datetime | None, datetime | None]:
    """Narrow the index scan with the filter's own startTime conditions."""
    lower = upper = None
    for c in conditions:
        if c.column != "startTime" or c.type != "datetime":
            continue
        if c.operator in (">", ">="):
            lower = c.value if lower is None else max(lower, c.value)
        else:
            bound = c.value + timedelta(microseconds=1) if c.operator == "<=" else c.value
            upper = bound if upper is None else min(upper, bound)
    return lower, upper


def _optional_datetime(params: Params, name: str) -> datetime | None:
    raw = params.get(name)
    return parse_datetime(raw, name) if raw else None


def _all(predicates: list[Callable[[dict], bool]]) -> Callable[[dict], bool] | None:
    if not predicates:
        return None
    return lambda record: all(p(record) for p in predicates)


def parse_scores_query(params: Params) -> ListQuery:
    """`GET /api/public/v3/scores` parameters to a page request."""
    groups = _groups(params.get("fields"), SCORE_GROUPS, ())
    cursor = params.get("cursor")
    after = decode_cursor(cursor) if cursor else None
    predicates = _subject_filters(params) + _score_filters(params)
    page = PageRequest(limit=_limit(params, 100), after=after,
                       lower=_optional_datetime(params, "fromTimestamp"),
                       upper=_optional_datetime(params, "toTimestamp"),
                       predicate=_all(predicates))
    return ListQuery(page, groups)


def _subject_filters(params: Params) -> list[Callable[[dict], bool]]:
    given = {name for name in ("traceId", "sessionId", "observationId", "experimentId")
             if params.get(name)}
    if "observationId" in given and "traceId" not in given:
        raise QueryError("observationId requires traceId: observation ids are scoped to a trace")
    exclusive = given & {"sessionId", "experimentId"}
    if exclusive and len(given) > 1:
        raise QueryError(f"{', '.join(sorted(given))} cannot be combined: sessionId and "
                         "experimentId are mutually exclusive with the other subject filters")
    fields = {"traceId": "traceId", "sessionId": "sessionId",
              "observationId": "observationId", "experimentId": "datasetRunId"}
    wanted = {fields[name]: frozenset(_csv(params, name)) for name in given}
    return [lambda r, f=field, v=values: r.get(f) in v for field, values in wanted.items()]


def _score_filters(params: Params) -> list[Callable[[dict], bool]]:
    predicates = []
    for name in ("id", "name", "environment", "configId", "queueId", "authorUserId"):
        values = frozenset(_csv(params, name))
        if values:
            predicates.append(lambda r, n=name, v=values: r.get(n) in v)
    sources = frozenset(s.upper() for s in _csv(params, "source"))
    if sources:
        predicates.append(lambda r: r["source"] in sources)
    types = [t.upper() for t in _csv(params, "dataType")]
    unknown = [t for t in types if t not in SCORE_DATA_TYPES]
    if unknown:
        raise QueryError(f"unknown dataType {', '.join(unknown)}; use {', '.join(SCORE_DATA_TYPES)}")
    if types:
        predicates.append(lambda r, v=frozenset(types): r["dataType"] in v)
    return predicates + _value_filters(params, types)


def _value_filters(params: Params, types: list[str]) -> list[Callable[[dict], bool]]:
    values = _csv(params, "value")
    bounds = {name: params.get(name) for name in ("valueMin", "valueMax") if params.get(name)}
    if not values and not bounds:
        return []
    if len(types) != 1:
        raise QueryError("value, valueMin and valueMax need exactly one dataType")
    if bounds and types[0] != "NUMERIC":
        raise QueryError("valueMin and valueMax need dataType=NUMERIC")
    predicates = []
    if values:
        wanted = frozenset(_typed_value(v, types[0]) for v in values)
        predicates.append(lambda r: _stored_value(r) in wanted)
    for name, raw in bounds.items():
        bound = _typed_value(raw, "NUMERIC")
        compare = (lambda a, b: a >= b) if name == "valueMin" else (lambda a, b: a <= b)
        predicates.append(lambda r, b=bound, c=compare: c(float(r["value"]), b))
    return predicates


def _typed_value(raw: str, data_type: str) -> Any:
    if data_type == "BOOLEAN":
        return _bool(raw, "value")
    if data_type == "NUMERIC":
        try:
            number = float(raw)
        except ValueError as exc:
            raise QueryError(f"value {raw!r} is not a number") from exc
        if not math.isfinite(number):
            raise QueryError(f"value {raw!r} is not a finite number")
        return number
    if data_type == "CATEGORICAL":
        return raw
    raise QueryError("value filters need dataType NUMERIC, BOOLEAN or CATEGORICAL")


def _stored_value(score: dict) -> Any:
    if score["dataType"] == "BOOLEAN":
        return bool(score["value"])
    if score["dataType"] == "NUMERIC":
        return float(score["value"])
    return score["value"]

"""The v2 observations `filter` parameter: a JSON list of conditions, as the spec lists them."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from distillery_sandbox.langfuse.records import observation_input

Record = dict[str, Any]


class QueryError(ValueError):
    """A request the API answers with 400; the message says what to change."""


def validation_problems(exc: ValidationError, whole: str = "body") -> str:
    """Pydantic's errors as one line for a 400, `where: what; ...` (`whole` stands for
    an error about the value as a whole)."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or whole}: {e['msg']}" for e in exc.errors())


class FilterCondition(BaseModel):
    """One condition of the `filter` JSON array."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["datetime", "string", "number", "stringOptions", "categoryOptions",
                  "arrayOptions", "stringObject", "numberObject", "boolean", "null"]
    column: str
    operator: str
    value: Any = None
    key: str | None = None


_OPERATORS = {
    "datetime": (">", "<", ">=", "<="),
    "string": ("=", "contains", "does not contain", "starts with", "ends with", "matches"),
    "stringOptions": ("any of", "none of"),
    "categoryOptions": ("any of", "none of"),
    "arrayOptions": ("any of", "none of", "all of"),
    "number": ("=", ">", "<", ">=", "<="),
    "stringObject": ("=", "contains", "does not contain", "starts with", "ends with", "matches"),
    "numberObject": ("=", ">", "<", ">=", "<="),
    "boolean": ("=", "<>"),
    "null": ("is null", "is not null"),
}


def _usage(record: Record, name: str) -> Any:
    return (record.get("usageDetails") or {}).get(name)


def _cost(record: Record, name: str) -> Any:
    return (record.get("costDetails") or {}).get(name)


def _tokens_per_second(record: Record) -> float | None:
    output, latency = _usage(record, "output"), record.get("latency")
    return output / latency if output is not None and latency else None


COLUMNS: dict[str, Callable[[Record], Any]] = {
    **{name: (lambda r, n=name: r.get(n)) for name in (
        "id", "type", "name", "traceId", "startTime", "endTime", "environment", "level",
        "statusMessage", "version", "userId", "sessionId", "isRootObservation", "traceName",
        "latency", "timeToFirstToken", "totalCost", "promptName", "promptVersion",
        "output", "metadata")},
    "input": observation_input,
    "traceTags": lambda r: r.get("tags") or [],
    "tags": lambda r: r.get("tags") or [],
    "tokensPerSecond": _tokens_per_second,
    "inputTokens": lambda r: _usage(r, "input"),
    "outputTokens": lambda r: _usage(r, "output"),
    "totalTokens": lambda r: _usage(r, "total"),
    "tokens": lambda r: _usage(r, "total"),
    "inputCost": lambda r: _cost(r, "input"),
    "outputCost": lambda r: _cost(r, "output"),
    "model": lambda r: r.get("providedModelName"),
    "providedModelName": lambda r: r.get("providedModelName"),
}
"""Filterable columns and how to read each from a stored observation."""

_COMPARE = {"=": operator.eq, ">": operator.gt, "<": operator.lt, ">=": operator.ge,
            "<=": operator.le, "<>": operator.ne}


def parse_filter(text: str) -> list[FilterCondition]:
    """Parse and check the `filter` parameter; QueryError says what is wrong."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise QueryError(f"filter is not valid JSON: {exc.msg}") from exc
    try:
        conditions = TypeAdapter(list[FilterCondition]).validate_python(raw)
    except ValidationError as exc:
        problems = validation_problems(exc, whole="")
        raise QueryError(f"filter must be a JSON array of conditions ({problems})") from exc
    for condition in conditions:
        _check(condition)
    _check_io_rule(conditions)
    return conditions


def _check(condition: FilterCondition) -> None:
    if condition.column not in COLUMNS:
        raise QueryError(f"unknown filter column {condition.column!r}; known: {', '.join(COLUMNS)}")
    if condition.operator not in _OPERATORS[condition.type]:
        allowed = ", ".join(_OPERATORS[condition.type])
        raise QueryError(f"operator {condition.operator!r} is not valid for type "
                         f"{condition.type!r}; use one of: {allowed}")
    if condition.type in ("stringObject", "numberObject", "categoryOptions") and not condition.key:
        raise QueryError(f"a {condition.type} condition needs a 'key'")
    if condition.operator == "matches" and condition.column not in ("input", "output", "metadata"):
        raise QueryError("'matches' is only supported on input, output and metadata")
    if condition.type == "datetime":
        condition.value = parse_datetime(condition.value, f"filter value for {condition.column}")
    if condition.type in ("number", "numberObject") and not isinstance(condition.value, (int, float)):
        raise QueryError(f"a {condition.type} condition needs a numeric value")
    if condition.type.endswith("Options") and not isinstance(condition.value, list):
        raise QueryError(f"a {condition.type} condition needs a list value")


def _check_io_rule(conditions: list[FilterCondition]) -> None:
    io = [c for c in conditions if c.column in ("input", "output")]
    if io and not any(c.operator in ("=", "matches") for c in io):
        raise QueryError("a filter on input or output needs at least one '=' or 'matches' "
                         "condition on input or output")


def parse_datetime(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise QueryError(f"{what} must be an ISO 8601 datetime string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise QueryError(f"{what} is not an ISO 8601 datetime: {value!r}") from exc
    if parsed.tzinfo is None:
        raise QueryError(f"{what} needs a UTC offset or Z: {value!r}")
    return parsed


def condition_predicate(condition: FilterCondition) -> Callable[[Record], bool]:
    read = COLUMNS[condition.column]
    if condition.key is not None and condition.column == "metadata":
        key = condition.key
        read = lambda r: (r.get("metadata") or {}).get(key)  # noqa: E731
    kind, op, value = condition.type, condition.operator, condition.value
    if kind == "null":
        return lambda r: (read(r) is None) == (op == "is null")
    if kind in ("stringOptions", "categoryOptions"):
        wanted = set(value)
        return lambda r: (read(r) in wanted) == (op == "any of")
    if kind == "arrayOptions":
        return _array_predicate(read, op, set(value))
    if kind in ("string", "stringObject"):
        return _string_predicate(read, op, str(value), condition.column in ("input", "output"))
    compare = _COMPARE[op]
    return lambda r: (v := read(r)) is not None and _comparable(v) and compare(v, value)


def _comparable(value: Any) -> bool:
    return isinstance(value, (int, float, datetime, bool))


def _array_predicate(read: Callable[[Record], Any], op: str, wanted: set) -> Callable[[Record], bool]:
    if op == "all of":
        return lambda r: wanted <= set(read(r) or [])
    if op == "any of":
        return lambda r: bool(wanted & set(read(r) or []))
    return lambda r: not wanted & set(read(r) or [])


def _string_predicate(read: Callable[[Record], Any], op: str, value: str, fold: bool
                      ) -> Callable[[Record], bool]:
    def text(record: Record) -> str | None:
        found = read(record)
        if found is None:
            return None
        found = found if isinstance(found, str) else json.dumps(found)
        return found.lower() if fold else found

    needle = value.lower() if fold else value
    tests = {
        "=": lambda t: t == needle,
        "contains": lambda t: needle in t,
        "matches": lambda t: needle in t,
        "does not contain": lambda t: needle not in t,
        "starts with": lambda t: t.startswith(needle),
        "ends with": lambda t: t.endswith(needle),
    }
    test = tests[op]
    if op == "does not contain":
        return lambda r: (t := text(r)) is None or test(t)
    return lambda r: (t := text(r)) is not None and test(t)

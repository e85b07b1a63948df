"""Lines of a Langfuse export (JSONL) read as v2 API observations and scores.

Two shapes are accepted, line by line: the API's own camelCase objects (what
``GET /api/public/v2/observations`` returns, as teams dump it with a script) and the
blob-storage export's snake_case columns (``observations_v2/``, legacy ``observations/``
and ``scores/``), whose timestamps are UTC without a zone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_SNAKE = re.compile(r"_([a-z])")

_RENAMED = {
    "model": "providedModelName",
    "provided_model_name": "providedModelName",
    "calculated_total_cost": "totalCost",
    "total_cost": "totalCost",
    "trace_tags": "tags",
}


class BadLine(ValueError):
    """A line that is not a usable record; the message says why without quoting it."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def camel_case(key: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), key)


def as_api_record(row: dict[str, Any]) -> dict[str, Any]:
    """The row with API field names; values are left for the mapper to read."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = _RENAMED.get(key) or (camel_case(key) if "_" in key else key)
        if name not in out or out[name] is None:
            out[name] = value
    return out


def read_line(text: str, line: int) -> dict[str, Any] | None:
    """One JSONL line as an API-shaped record; None for a blank line; BadLine otherwise."""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadLine(line, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, dict):
        raise BadLine(line, "not a JSON object")
    record = as_api_record(value)
    if not isinstance(record.get("id"), str) or not record["id"]:
        raise BadLine(line, "has no 'id'")
    return record


def read_records(
    lines: Iterable[str], on_bad_line: Callable[[BadLine], None]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of each record in ``lines``; blank lines are skipped and each
    bad one goes to ``on_bad_line``, so one broken line never stops a whole file."""
    for number, text in enumerate(lines, start=1):
        try:
            record = read_line(text, number)
        except BadLine as exc:
            on_bad_line(exc)
            continue
        if record is not None:
            yield number, record

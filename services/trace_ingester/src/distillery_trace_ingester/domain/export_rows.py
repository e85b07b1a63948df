"""Lines of a Langfuse export (JSONL) read as v2 API observations and scores.

Two shapes are accepted, line by line: the API's own camelCase objects (what
``GET /api/public/v2/observations`` returns, as teams dump it with a script) and the
blob-storage export's snake_case columns (``observations_v2/``, legacy ``observations/``
and ``scores/``), whose timestamps are UTC without a zone.

Lines are read through the runtime's text-safety edge: a line too long, not UTF-8, not
JSON or nested too deeply is a ``BadLine`` with the reason; lone surrogates and NUL in a
record are replaced by U+FFFD, and the line is reported as a ``RepairedLine``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from distillery_runtime.text import UnsafeInput, parse_json_line

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


@dataclass(frozen=True)
class RepairedLine:
    """A line read after its text was made safe (lone surrogates, NUL): reported, not skipped."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


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


def read_line(text: str | bytes, line: int) -> dict[str, Any] | None:
    """One JSONL line as an API-shaped record, its text made safe; None for a blank line;
    BadLine otherwise."""
    return _read(text, line)[0]


def read_records(
    lines: Iterable[str | bytes], on_bad_line: Callable[[BadLine], None],
    on_repaired: Callable[[RepairedLine], None] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of each record in ``lines``; blank lines are skipped and each
    bad one goes to ``on_bad_line``, so one broken line never stops a whole file. A line
    whose text had to be repaired is read, and goes to ``on_repaired`` too."""
    for number, text in enumerate(lines, start=1):
        try:
            record, repaired = _read(text, number)
        except BadLine as exc:
            on_bad_line(exc)
            continue
        if repaired is not None and on_repaired is not None:
            on_repaired(RepairedLine(number, repaired))
        if record is not None:
            yield number, record


def _read(text: str | bytes, line: int) -> tuple[dict[str, Any] | None, str | None]:
    try:
        parsed = parse_json_line(text)
    except UnsafeInput as exc:
        raise BadLine(line, exc.reason) from None
    if parsed is None:
        return None, None
    if not isinstance(parsed.value, dict):
        raise BadLine(line, "not a JSON object")
    record = as_api_record(parsed.value)
    if not isinstance(record.get("id"), str) or not record["id"]:
        raise BadLine(line, "has no 'id'")
    return record, parsed.repaired

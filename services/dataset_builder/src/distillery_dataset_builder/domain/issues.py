"""The problems validation finds, in the words a person preparing a training file reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Issue:
    """One broken rule inside one example."""

    code: str
    """Stable machine-readable name of the rule, e.g. ``unrecognized_role``."""
    message: str
    """What is wrong and what is expected, e.g. ``message 3 has role "assitant"; ...``."""
    message_index: int | None = None
    """0-based index in ``messages`` of the message at fault (the text counts from 1)."""


@dataclass(frozen=True)
class LineError:
    """A broken rule located in a JSONL file."""

    line: int | None
    """1-based line number; None when the rule concerns the whole file."""
    code: str
    """Stable machine-readable name of the rule."""
    message: str
    """What is wrong, without the line prefix."""

    def __str__(self) -> str:
        return self.message if self.line is None else f"line {self.line}: {self.message}"


def kind_of(value: Any) -> str:
    """How a JSON value's type reads in an error message: 'a string', 'null', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def kind_or_empty(value: Any) -> str:
    """:func:`kind_of`, but an empty list says so: for fields that need a non-empty list."""
    return "an empty list" if value == [] else kind_of(value)


def quoted(names: Iterable[str]) -> str:
    """``a, b`` → ``"a", "b"`` for lists of keys in messages."""
    return ", ".join(f'"{name}"' for name in names)

"""Why a Langfuse record cannot become a ``traces.raw`` event."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from distillery_runtime.text import UnsafeInput, scrub_json


class UnmappableObservation(ValueError):
    """An observation whose shape cannot be read as a chat generation.

    The reason names the field and what is wrong with its shape, never its content:
    it travels to the dead-letter topic and into logs, where caller PII must not go.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def describe_validation(exc: ValidationError, what: str) -> str:
    """A validation failure as field paths and rules only (pydantic would echo the input)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or what
        problems.append(f"{where}: {error['msg']}")
    return f"{what} does not fit the contract: " + "; ".join(problems[:5])


def readable(record: Any) -> Any:
    """``record`` with safe text (lone surrogates and NUL as U+FFFD); UnmappableObservation
    when it nests too deeply for the stream's consumers to parse."""
    try:
        return scrub_json(record).value
    except UnsafeInput as exc:
        raise UnmappableObservation(exc.reason) from None

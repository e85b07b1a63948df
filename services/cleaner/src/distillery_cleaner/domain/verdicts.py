"""The cleaner's verdict on one generation, before it becomes an event."""

from __future__ import annotations

from dataclasses import dataclass

from distillery_contracts.examples import RejectReason


@dataclass(frozen=True)
class Rejection:
    """Why a generation is dropped: a reason code and a detail that never quotes PII."""

    reason: RejectReason
    detail: str
    duplicate_of: str | None = None

"""Providers' job statuses mapped onto ours, and which changes count as a state change.

Our statuses move forward only: submitted → validating → queued → running → a terminal
state. A provider may step back (Azure pauses a running job, which then waits like a
queued one); we record its raw status but publish each of our states at most once.
"""

from __future__ import annotations

from collections.abc import Mapping

from distillery_contracts.finetune import JobStatus

OPENAI_STATUSES: Mapping[str, JobStatus] = {
    "validating_files": JobStatus.VALIDATING,
    "queued": JobStatus.QUEUED,
    "running": JobStatus.RUNNING,
    # A paused job neither trains nor is finished: it waits, like a queued one.
    "paused": JobStatus.QUEUED,
    "succeeded": JobStatus.SUCCEEDED,
    "failed": JobStatus.FAILED,
    "cancelled": JobStatus.CANCELLED,
}
"""OpenAI's FineTuningJob.status values (openai-finetune-subset.yml), plus 'paused' (its
pause/resume endpoints)."""

AZURE_STATUSES: Mapping[str, JobStatus] = {
    **OPENAI_STATUSES,  # newer Azure API versions also answer with OpenAI's values
    "created": JobStatus.SUBMITTED,
    "pending": JobStatus.QUEUED,
}
"""Azure's FineTuningState values (2024-10-21 plus the previews' 'paused')."""

_RANK = {
    JobStatus.SUBMITTED: 0,
    JobStatus.VALIDATING: 1,
    JobStatus.QUEUED: 2,
    JobStatus.RUNNING: 3,
}


def map_status(raw: str, table: Mapping[str, JobStatus]) -> JobStatus | None:
    """Our status for a provider's raw status; None for a value we do not know."""
    return table.get(raw.lower())


def is_advance(current: JobStatus | None, new: JobStatus) -> bool:
    """Whether moving from ``current`` to ``new`` is a state change worth publishing."""
    if current is None:
        return True
    if current.terminal:
        return False
    if new.terminal:
        return True
    return _RANK[new] > _RANK[current]

"""Training jobs as OpenAI's fine-tuning API describes them, and the files they train on.

A job moves validating_files → queued → running → succeeded, or ends failed or
cancelled. Every change the API shows is also an event, in the job's own words
("Fine-tuning job started", "Step 3/24: training loss=1.2031").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    VALIDATING_FILES = "validating_files"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})
UNFINISHED = tuple(s.value for s in Status if s not in FINISHED)


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


@dataclass
class TrainingFile:
    """An uploaded JSONL file, checked line by line when it arrived."""

    file_id: str
    filename: str
    purpose: str
    bytes: int
    sha256: str
    examples: int
    status: str  # processed or error, as OpenAI says
    status_details: str | None
    created_at: datetime

    @property
    def usable(self) -> bool:
        return self.status == "processed"


@dataclass(frozen=True)
class JobEvent:
    event_id: str
    created_at: datetime
    level: str
    message: str
    type: str = "message"
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class Checkpoint:
    checkpoint_id: str
    created_at: datetime
    step: int
    metrics: dict[str, float]
    model_checkpoint: str


@dataclass(frozen=True)
class PublishedAdapter:
    """Where a job's adapter was published, with the digest of its weights."""

    uri: str
    sha256: str
    bytes: int


@dataclass
class TrainingJob:
    job_id: str
    base_model: str
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int | None
    metadata: dict[str, str]
    requested: dict[str, Any]
    settings: dict[str, Any]
    created_at: datetime
    status: Status = Status.VALIDATING_FILES
    started_at: datetime | None = None
    finished_at: datetime | None = None
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    error: dict[str, str | None] | None = None
    adapter: PublishedAdapter | None = None
    cancel_requested: bool = False
    attempts: int = 0
    events: list[JobEvent] = field(default_factory=list, repr=False)
    """Events made since the job was loaded, for the store to add on save."""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def say(self, now: datetime, message: str, *, level: str = "info", type: str = "message",
            data: dict[str, Any] | None = None) -> None:
        self.events.append(JobEvent(new_id("ftevent"), now, level, message, type, data))

    def move_to(self, status: Status, now: datetime, message: str) -> None:
        self.status = status
        if status is Status.RUNNING and self.started_at is None:
            self.started_at = now
        if status in FINISHED:
            self.finished_at = now
        self.say(now, message, level="error" if status is Status.FAILED else "info")

    def fail(self, now: datetime, code: str, message: str) -> None:
        self.error = {"code": code, "message": message, "param": None}
        self.move_to(Status.FAILED, now, f"Fine-tuning job failed: {message}")

    def cancel(self, now: datetime) -> None:
        self.move_to(Status.CANCELLED, now, "Fine-tuning job cancelled")

    def succeed(self, now: datetime, adapter: PublishedAdapter, trained_tokens: int | None) -> None:
        self.fine_tuned_model = fine_tuned_name(self)
        self.adapter = adapter
        self.trained_tokens = trained_tokens
        self.say(now, f"New fine-tuned model created: {self.fine_tuned_model}")
        self.move_to(Status.SUCCEEDED, now, "The job has successfully completed")


def fine_tuned_name(job: TrainingJob) -> str:
    """``ft:<base>:<suffix>:<job id>``, OpenAI's shape; the last part finds the adapter."""
    return f"ft:{job.base_model.replace(':', '-')}:{job.suffix or 'distillery'}:{job.job_id}"


def checkpoint_name(job: TrainingJob, step: int) -> str:
    return f"{fine_tuned_name(job)}:ckpt-step-{step}"

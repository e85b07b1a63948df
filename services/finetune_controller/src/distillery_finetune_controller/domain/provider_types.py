"""What the controller exchanges with a fine-tuning provider, in our words, not the SDK's.

Adapters translate the provider's objects and errors into these, so that everything
above them is the same for OpenAI, Azure and any other OpenAI-compatible provider.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from distillery_contracts.finetune import Hyperparameters, JobError, JobStatus

METADATA_JOB_ID = "distillery_job_id"


class ProviderError(Exception):
    """A provider call that did not do what was asked."""


class ProviderUnavailable(ProviderError):
    """A failure that may pass (429, 5xx, timeout, connection): try again later.

    ``retry_after_s`` is the provider's own hint (Retry-After), when it gave one.
    """

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class CredentialsRefused(ProviderUnavailable):
    """The provider refused our credentials (401, 403), e.g. an Azure management token that
    expired: it may pass once an operator renews them, so it is retried with the usual backoff,
    but only ``credential_retries`` times in a row before the job fails saying so."""


class ProviderRejected(ProviderError):
    """The provider refused the request itself (bad file, quota, unknown model): retrying
    the same request cannot help, so the job fails with the provider's message."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def as_job_error(self) -> JobError:
        return JobError(code=self.code or (f"http_{self.status}" if self.status else None), message=self.message)


class FileState(StrEnum):
    """Whether an uploaded file can be trained on yet (Azure processes files first)."""

    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class ProviderFile:
    file_id: str
    state: FileState
    detail: str | None = None
    size_bytes: int | None = None


@dataclass(frozen=True)
class JobRequest:
    """Everything a provider needs to create our job; built from the job row."""

    job_id: str
    dataset_id: str
    cycle_id: str | None
    base_model: str
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int | None
    hyperparameters: Hyperparameters

    def metadata(self) -> dict[str, str]:
        """Tags stored with the provider's job, by which we find it again after a crash."""
        tags = {METADATA_JOB_ID: self.job_id, "dataset_id": self.dataset_id}
        if self.cycle_id:
            tags["cycle_id"] = self.cycle_id
        return tags


@dataclass(frozen=True)
class ProviderJob:
    """A provider's fine-tuning job as last read."""

    provider_job_id: str
    raw_status: str
    status: JobStatus | None
    model: str
    created_at: datetime
    training_file: str | None = None
    validation_file: str | None = None
    suffix: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    error: JobError | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderEvent:
    event_id: str
    created_at: datetime
    level: str
    message: str
    type: str | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class ProviderCheckpoint:
    checkpoint_id: str
    created_at: datetime
    step: int
    model_checkpoint: str
    metrics: dict[str, float]


@dataclass(frozen=True)
class Deployment:
    """A deployment of a fine-tuned model (Azure's, or a self-hosted adapter loaded into the
    serving engine): provisioning, ready or failed; ``model`` is what it serves (for an
    adapter loaded from elsewhere, its path)."""

    name: str
    state: str
    model: str | None = None
    detail: str | None = None

    @property
    def ready(self) -> bool:
        return self.state.lower() == "succeeded"

    @property
    def failed(self) -> bool:
        return self.state.lower() in ("failed", "canceled", "cancelled")


CREATE_CLOCK_SKEW = timedelta(minutes=5)


def find_own_job(jobs: Iterable[ProviderJob], request: JobRequest, attempted_at: datetime,
                 taken: set[str]) -> ProviderJob | None:
    """Our job among a provider's jobs, after a create call whose answer we lost.

    The metadata tag identifies it where the provider stores metadata. Where it does not
    (Azure's 2024-10-21 API), the job with our files, model and suffix created since the
    attempt (allowing for clock skew) and not already known as another job of ours is it.
    """
    candidates = list(jobs)
    for job in candidates:
        if job.metadata.get(METADATA_JOB_ID) == request.job_id:
            return job
    since = attempted_at - CREATE_CLOCK_SKEW
    for job in sorted(candidates, key=lambda j: j.created_at):
        if (not job.metadata and job.provider_job_id not in taken and job.created_at >= since
                and job.training_file == request.training_file
                and job.validation_file == request.validation_file
                and _same_model(job.model, request.base_model)
                and (job.suffix or None) == (request.suffix or None)):
            return job
    return None


def _same_model(reported: str, requested: str) -> bool:
    # Providers may answer with the dated snapshot of the alias that was asked for.
    return reported == requested or reported.startswith(requested + "-")

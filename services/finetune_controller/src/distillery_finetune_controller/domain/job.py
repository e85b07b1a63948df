"""A fine-tuning job as the controller tracks it, and the events its changes produce.

The ``phase`` is our own progress (waiting for a slot, uploading, creating, tracking,
deploying, done); the ``status`` is the contract's state, published once per value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.finetune import (
    FinetuneJobChanged,
    Hyperparameters,
    JobError,
    JobMetrics,
    JobStatus,
    PublishedDates,
)
from distillery_finetune_controller.domain.lifecycle import Refusal
from distillery_finetune_controller.domain.provider_types import JobRequest, ProviderEvent, ProviderJob
from distillery_finetune_controller.domain.status import is_advance


class Phase(StrEnum):
    WAITING = "waiting"  # accepted; waits for a free slot and the lifecycle check
    UPLOADING = "uploading"  # lifecycle passed; files going up
    CREATING = "creating"  # intent recorded: a create call may be in flight
    TRACKING = "tracking"  # the provider has the job; polled until it ends
    DEPLOYING = "deploying"  # trained; being deployed before it can serve (Azure)
    DONE = "done"


ACTIVE_PHASES = frozenset({Phase.UPLOADING, Phase.CREATING, Phase.TRACKING})
"""Phases that hold one of the provider account's concurrent-job slots."""

POLL_GROWTH = 1.5
"""A job that did not change is polled 1.5 times later than the last time (up to a ceiling)."""


@dataclass(frozen=True)
class FileRef:
    """A dataset file as DatasetBuilt announced it."""

    uri: str
    sha256: str
    size_bytes: int


@dataclass
class Job:
    job_id: str
    provider: str
    dataset_id: str
    dataset_version: int
    cycle_id: str | None
    base_model: str
    train: FileRef
    validation: FileRef
    hyperparameters: Hyperparameters
    suffix: str | None
    seed: int | None
    created_at: datetime
    next_check_at: datetime
    cause: dict[str, Any] = field(default_factory=dict)
    estimated_cost_usd: float | None = None
    phase: Phase = Phase.WAITING
    status: JobStatus | None = None
    provider_job_id: str | None = None
    provider_status: str | None = None
    training_file_id: str | None = None
    validation_file_id: str | None = None
    create_attempts: int = 0
    intent_at: datetime | None = None
    attempted_at: datetime | None = None
    """When the last create call was made: a cancel keeps looking for the job it may have made
    until that call has settled (timed out with every retry of the SDK)."""
    fine_tuned_model: str | None = None
    deployment_name: str | None = None
    trained_tokens: int | None = None
    error: JobError | None = None
    base_model_dates: PublishedDates | None = None
    """What the provider published about the base model, as the lifecycle guard read it (passed or refused)."""
    metrics: JobMetrics = field(default_factory=JobMetrics)
    cancel_requested: bool = False
    cancel_reason: str | None = None
    cancel_sent: bool = False
    failures: int = 0
    check_interval_s: float = 0.0
    last_event_id: str | None = None
    updated_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.phase is Phase.DONE

    def request(self) -> JobRequest:
        if self.training_file_id is None:
            raise ValueError(f"job {self.job_id} has no uploaded training file yet")
        return JobRequest(
            job_id=self.job_id, dataset_id=self.dataset_id, cycle_id=self.cycle_id,
            base_model=self.base_model, training_file=self.training_file_id,
            validation_file=self.validation_file_id, suffix=self.suffix, seed=self.seed,
            hyperparameters=self.hyperparameters,
        )

    def event(self, status: JobStatus, now: datetime) -> FinetuneJobChanged:
        return FinetuneJobChanged(
            job_id=self.job_id, provider=self.provider, provider_job_id=self.provider_job_id,
            dataset_id=self.dataset_id, cycle_id=self.cycle_id, base_model=self.base_model,
            status=status, fine_tuned_model=self.fine_tuned_model,
            deployment_name=self.deployment_name, error=self.error, base_model_dates=self.base_model_dates,
            trained_tokens=self.trained_tokens, hyperparameters=self.hyperparameters,
            metrics=self.metrics, occurred_at=now,
        )

    def move_to(self, status: JobStatus, now: datetime) -> list[FinetuneJobChanged]:
        """Take ``status`` if it is a step forward; the event to publish, if any."""
        if not is_advance(self.status, status):
            return []
        self.status = status
        if status.terminal:
            self.phase = Phase.DONE
        return [self.event(status, now)]

    def refuse(self, refusal: Refusal, now: datetime) -> list[FinetuneJobChanged]:
        self.error = JobError(code=refusal.code, message=refusal.message)
        return self.move_to(JobStatus.REFUSED, now)

    def fall_back(self, provider: str, base_model: str, refusal: Refusal, now: datetime) -> ProviderEvent:
        """Continue on ``provider`` with ``base_model`` instead of being refused; the note, kept
        with the job's events, that tells an operator why it moved."""
        message = (f"{self.provider} refused base model {self.base_model}: {refusal.reason or refusal.message}; "
                   f"continuing on the {provider} provider with base model {base_model} "
                   "(DISTILLERY_FINETUNE_AUTO_FALLBACK)")
        note = ProviderEvent(
            event_id=f"fallback-from-{self.provider}", created_at=now, level="warning", message=message,
            type="fallback", data={"refusal": refusal.code, "from_provider": self.provider,
                                   "from_model": self.base_model, "to_provider": provider, "to_model": base_model})
        self.provider, self.base_model = provider, base_model
        self.base_model_dates = None  # the other provider's guard reads its own
        self.next_check_at = now
        return note

    def fail(self, error: JobError, now: datetime) -> list[FinetuneJobChanged]:
        self.error = error
        return self.move_to(JobStatus.FAILED, now)

    def submitted(self, job: ProviderJob, now: datetime, *, needs_deployment: bool) -> list[FinetuneJobChanged]:
        """The provider accepted the job: publish submitted, then whatever it says now."""
        self.provider_job_id = job.provider_job_id
        self.phase = Phase.TRACKING
        return self.move_to(JobStatus.SUBMITTED, now) + self.observe(job, now, needs_deployment=needs_deployment)

    def observe(self, job: ProviderJob, now: datetime, *, needs_deployment: bool) -> list[FinetuneJobChanged]:
        """Apply what the provider says about the job; the events that follow."""
        self.provider_status = job.raw_status
        self.fine_tuned_model = job.fine_tuned_model or self.fine_tuned_model
        self.trained_tokens = job.trained_tokens if job.trained_tokens is not None else self.trained_tokens
        self.hyperparameters = _resolved(self.hyperparameters, job.hyperparameters)
        status = job.status
        if status is None:
            return []
        if status is JobStatus.SUCCEEDED:
            if not self.fine_tuned_model:
                return []  # not usable until the provider names the model
            if needs_deployment:
                self.phase = Phase.DEPLOYING
                return []
        if status is JobStatus.FAILED:
            self.error = job.error or JobError(
                code=None, message=f"the provider reported the job {job.raw_status} without a reason")
        return self.move_to(status, now)

    def deployed(self, deployment_name: str, now: datetime) -> list[FinetuneJobChanged]:
        self.deployment_name = deployment_name
        return self.move_to(JobStatus.SUCCEEDED, now)

    def schedule_poll(self, now: datetime, base_s: float, ceiling_s: float, *, changed: bool) -> None:
        """Poll again after ``base_s`` when the job just changed, else after a growing interval."""
        grown = min(ceiling_s, self.check_interval_s * POLL_GROWTH)
        self.check_interval_s = base_s if changed or not self.check_interval_s else grown
        self.failures = 0
        self.next_check_at = now + timedelta(seconds=self.check_interval_s)

    def schedule_retry(self, now: datetime, base_s: float, max_s: float, retry_after_s: float | None) -> float:
        """Count a failed attempt and try again after a backoff (see ``retry_delay``); the delay chosen."""
        self.failures += 1
        delay = retry_delay(self.failures, base_s, max_s, retry_after_s)
        self.next_check_at = now + timedelta(seconds=delay)
        return delay


def retry_delay(failures: int, base_s: float, max_s: float, retry_after_s: float | None) -> float:
    """An exponential backoff after ``failures`` failed attempts, never sooner than the provider
    asked (capped at ``max_s``)."""
    delay = min(max_s, base_s * 2 ** (failures - 1))
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, max_s))
    return delay


def _resolved(requested: Hyperparameters, reported: dict[str, Any]) -> Hyperparameters:
    """The provider's resolved values replace 'auto' and unset ones; ours otherwise stand."""
    changes: dict[str, Any] = {}
    for name in ("n_epochs", "batch_size", "learning_rate_multiplier"):
        value = reported.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            continue
        if getattr(requested, name) in (None, "auto"):
            changes[name] = float(value) if name == "learning_rate_multiplier" else int(value)
    return Hyperparameters.model_validate({**requested.model_dump(), **changes})


@dataclass(frozen=True)
class JobDefaults:
    """What configuration adds to a dataset to make a job."""

    provider: str
    base_model: str | None = None
    suffix: str | None = None
    seed: int | None = None
    n_epochs: int | None = None
    batch_size: int | None = None
    learning_rate_multiplier: float | None = None


def deployment_name(prefix: str, dataset_id: str) -> str:
    """Deterministic, so a restart finds the deployment it started; ARM allows [\\w.-]{2,64}."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{prefix}-{dataset_id}")[:64]


def job_id_for(dataset_id: str) -> str:
    """One job per dataset: a redelivered or replayed DatasetBuilt finds the same job."""
    return f"job-{dataset_id}"


def new_job(dataset: DatasetBuilt, defaults: JobDefaults, cause: dict[str, Any], now: datetime) -> Job:
    """The job that trains ``dataset``, waiting for its turn."""
    files = dataset.files
    epochs = defaults.n_epochs or dataset.epochs
    return Job(
        job_id=job_id_for(dataset.dataset_id), provider=defaults.provider, dataset_id=dataset.dataset_id,
        dataset_version=dataset.version, cycle_id=dataset.cycle_id,
        base_model=defaults.base_model or dataset.base_model,
        train=FileRef(files.train.uri, files.train.sha256, files.train.size_bytes),
        validation=FileRef(files.validation.uri, files.validation.sha256, files.validation.size_bytes),
        hyperparameters=Hyperparameters(
            n_epochs=epochs, batch_size=defaults.batch_size,
            learning_rate_multiplier=defaults.learning_rate_multiplier, seed=defaults.seed),
        suffix=defaults.suffix, seed=defaults.seed, created_at=now, next_check_at=now, cause=cause,
        estimated_cost_usd=dataset.estimated_training_cost_usd * epochs / dataset.epochs,
    )

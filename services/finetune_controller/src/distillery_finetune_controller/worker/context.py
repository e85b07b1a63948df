"""What every step of the worker needs, and how a step commits a job's changes.

A step reads a job, talks to the provider outside any transaction, then commits the
job, its history and its events (through the outbox) in one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from distillery_contracts.envelope import Envelope
from distillery_contracts.finetune import FinetuneJobChanged, JobStatus
from distillery_contracts.registry import FINETUNE_JOBS
from distillery_finetune_controller.adapters.providers.base import AbstractFineTuneProvider
from distillery_finetune_controller.adapters.registry_repository import AbstractModelRegistry
from distillery_finetune_controller.adapters.repository import AbstractJobRepository
from distillery_finetune_controller.config import FinetuneSettings
from distillery_finetune_controller.domain.job import Job
from distillery_finetune_controller.domain.registry import ModelStatus, RegisteredModel
from distillery_finetune_controller.metrics import JOBS_CHANGED
from distillery_runtime.logs import get_logger
from distillery_runtime.uow import UnitOfWork

log = get_logger("distillery_finetune_controller.worker")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Worker:
    """The worker's collaborators; tests hand in fakes for all of them."""

    new_uow: Callable[[], UnitOfWork]
    provider: AbstractFineTuneProvider
    settings: FinetuneSettings
    jobs_in: Callable[[UnitOfWork], AbstractJobRepository]
    registry_in: Callable[[UnitOfWork], AbstractModelRegistry]
    now: Callable[[], datetime] = field(default=utc_now)

    @property
    def account(self) -> str:
        return self.provider.account

    def later(self, seconds: float) -> datetime:
        return self.now() + timedelta(seconds=seconds)

    async def commit(self, job: Job, changes: Sequence[FinetuneJobChanged] = (),
                     also: Callable[[UnitOfWork], Awaitable[None]] | None = None) -> None:
        """Save ``job``, add ``changes`` to its history and publish them, all at once."""
        async with self.new_uow() as uow:
            jobs = self.jobs_in(uow)
            job.updated_at = self.now()
            await jobs.save(job)
            cause = Envelope.model_validate(job.cause) if job.cause else None
            for change in changes:
                await jobs.record_status(job.job_id, change.status, change.occurred_at)
                uow.emit(FINETUNE_JOBS, change, cause=cause, correlation_id=job.cycle_id)
                if change.status is JobStatus.SUCCEEDED:
                    await self.registry_in(uow).register(registered_model(job, change.occurred_at))
            if also is not None:
                await also(uow)
            await uow.commit()
        for change in changes:
            log_change(change)

    async def reload(self, job_id: str) -> Job:
        async with self.new_uow() as uow:
            job = await self.jobs_in(uow).get(job_id)
        if job is None:
            raise LookupError(f"job {job_id} vanished from the database")
        return job


def registered_model(job: Job, at: datetime) -> RegisteredModel:
    if job.fine_tuned_model is None:
        raise ValueError(f"job {job.job_id} succeeded without a fine-tuned model")
    return RegisteredModel(
        fine_tuned_model=job.fine_tuned_model, job_id=job.job_id, dataset_id=job.dataset_id,
        cycle_id=job.cycle_id, base_model=job.base_model, provider=job.provider,
        provider_job_id=job.provider_job_id, deployment_name=job.deployment_name,
        trained_tokens=job.trained_tokens, metrics=job.metrics, status=ModelStatus.CANDIDATE,
        registered_at=at, status_changed_at=at,
    )


def log_change(change: FinetuneJobChanged) -> None:
    JOBS_CHANGED.labels(change.provider, change.status.value).inc()
    fields = {"job_id": change.job_id, "status": change.status.value, "provider_job_id": change.provider_job_id,
              "dataset_id": change.dataset_id}
    if change.fine_tuned_model:
        fields["fine_tuned_model"] = change.fine_tuned_model
    if change.deployment_name:
        fields["deployment"] = change.deployment_name
    if change.error is not None:
        log.warning("fine-tuning job changed", **fields, error_code=change.error.code, error=change.error.message)
    else:
        log.info("fine-tuning job changed", **fields)

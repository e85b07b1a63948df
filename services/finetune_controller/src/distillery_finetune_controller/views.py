"""What ``distillery finetune list|show|models`` reads: the jobs and the model registry, as
read models only.

Each read opens the controller's schema with ``open_service_schema``, so a database the
controller has not migrated yet is one clear line, not a missing-table error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from distillery_contracts.finetune import Hyperparameters, JobError, JobMetrics, PublishedDates
from distillery_finetune_controller import NAME, SCHEMA
from distillery_finetune_controller.adapters.job_store import SqlJobStore
from distillery_finetune_controller.adapters.model_store import SqlModelStore
from distillery_finetune_controller.domain.job import Job
from distillery_finetune_controller.domain.provider_types import ProviderCheckpoint, ProviderEvent
from distillery_finetune_controller.domain.registry import ModelStatus, RegisteredModel
from distillery_runtime.db import open_service_schema

__all__ = ["JobDetail", "JobView", "ModelStatus", "ModelView", "StatusStep", "get_job", "list_jobs",
           "list_models", "show_job"]


@dataclass(frozen=True)
class JobView:
    """One job as an operator reads it; ``status`` is None until the provider has the job."""

    job_id: str
    status: str | None
    phase: str
    provider: str
    provider_job_id: str | None
    provider_status: str | None
    dataset_id: str
    dataset_version: int
    cycle_id: str | None
    base_model: str
    hyperparameters: Hyperparameters
    seed: int | None
    training_file_id: str | None
    validation_file_id: str | None
    fine_tuned_model: str | None
    deployment_name: str | None
    trained_tokens: int | None
    metrics: JobMetrics
    error: JobError | None
    base_model_dates: PublishedDates | None
    """What the provider publishes of the base model's life, as the lifecycle guard read it."""
    cancel_requested: bool
    cancel_reason: str | None
    finished: bool
    updated_at: datetime | None


@dataclass(frozen=True)
class StatusStep:
    """A status the job took, and when."""

    status: str
    at: datetime


@dataclass(frozen=True)
class JobDetail:
    """A job with its history, checkpoints (by step) and provider events (oldest first)."""

    job: JobView
    history: list[StatusStep]
    checkpoints: list[ProviderCheckpoint]
    events: list[ProviderEvent]


@dataclass(frozen=True)
class ModelView:
    """A model in the registry: its lineage, metrics and status."""

    fine_tuned_model: str
    status: ModelStatus
    job_id: str
    dataset_id: str
    cycle_id: str | None
    base_model: str
    deployment_name: str | None
    metrics: JobMetrics
    registered_at: datetime


async def list_jobs(database_url: str, limit: int = 50) -> list[JobView]:
    """The newest jobs first."""
    async with open_service_schema(database_url, SCHEMA, NAME) as sessions, sessions() as session:
        return [_job_view(job) for job in await SqlJobStore(session).list_jobs(limit)]


async def get_job(database_url: str, job_id: str) -> JobView | None:
    async with open_service_schema(database_url, SCHEMA, NAME) as sessions, sessions() as session:
        job = await SqlJobStore(session).get(job_id)
    return _job_view(job) if job is not None else None


async def show_job(database_url: str, job_id: str) -> JobDetail | None:
    """The job and everything learned about it; None when there is no such job."""
    async with open_service_schema(database_url, SCHEMA, NAME) as sessions, sessions() as session:
        jobs = SqlJobStore(session)
        job = await jobs.get(job_id)
        if job is None:
            return None
        history = [StatusStep(status.value, at) for status, at in await jobs.history(job_id)]
        return JobDetail(_job_view(job), history, await jobs.checkpoints(job_id), await jobs.events(job_id))


async def list_models(database_url: str, status: ModelStatus | None = None) -> list[ModelView]:
    """The registry, newest first, optionally only the models with ``status``."""
    async with open_service_schema(database_url, SCHEMA, NAME) as sessions, sessions() as session:
        return [_model_view(m) for m in await SqlModelStore(session).list_models(status)]


def _job_view(job: Job) -> JobView:
    return JobView(
        job_id=job.job_id, status=job.status.value if job.status else None, phase=job.phase.value,
        provider=job.provider, provider_job_id=job.provider_job_id, provider_status=job.provider_status,
        dataset_id=job.dataset_id, dataset_version=job.dataset_version, cycle_id=job.cycle_id,
        base_model=job.base_model, hyperparameters=job.hyperparameters, seed=job.seed,
        training_file_id=job.training_file_id, validation_file_id=job.validation_file_id,
        fine_tuned_model=job.fine_tuned_model, deployment_name=job.deployment_name,
        trained_tokens=job.trained_tokens, metrics=job.metrics, error=job.error,
        base_model_dates=job.base_model_dates, cancel_requested=job.cancel_requested, cancel_reason=job.cancel_reason, finished=job.finished,
        updated_at=job.updated_at,
    )


def _model_view(model: RegisteredModel) -> ModelView:
    return ModelView(
        fine_tuned_model=model.fine_tuned_model, status=model.status, job_id=model.job_id,
        dataset_id=model.dataset_id, cycle_id=model.cycle_id, base_model=model.base_model,
        deployment_name=model.deployment_name, metrics=model.metrics, registered_at=model.registered_at,
    )

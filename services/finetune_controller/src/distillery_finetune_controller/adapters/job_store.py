"""Where jobs, their history, provider events, checkpoints and uploaded files are kept.

The worker reads and saves jobs through :class:`AbstractJobStore`; the consumers add jobs
and cancel requests; ``views.py`` reads them for the CLI.
"""

from __future__ import annotations

import abc
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from distillery_contracts.finetune import Hyperparameters, JobError, JobMetrics, JobStatus, PublishedDates
from distillery_finetune_controller.adapters.tables import (
    job_checkpoints,
    job_events,
    job_history,
    jobs,
    uploaded_files,
)
from distillery_finetune_controller.domain.job import ACTIVE_PHASES, FileRef, Job, Phase
from distillery_finetune_controller.domain.provider_types import ProviderCheckpoint, ProviderEvent
from distillery_runtime.fencing import hold_token, take_token


class AbstractJobStore(abc.ABC):
    """Jobs of this controller and what it learned about them from the provider."""

    @abc.abstractmethod
    async def add(self, job: Job, account: str) -> bool:
        """Store a new job; False if a job with its id exists already."""

    @abc.abstractmethod
    async def take_lead(self, name: str) -> int:
        """A new fencing token for the worker that just won the lock ``name``; older ones stop
        passing :meth:`hold_lead` once this transaction commits."""

    @abc.abstractmethod
    async def hold_lead(self, name: str, token: int) -> None:
        """Raise ``LostLease`` unless ``token`` is still the newest of ``name``: the worker's saves
        call it first, so a leader that lost the lock cannot save (nor create a paid job)."""

    @abc.abstractmethod
    async def get(self, job_id: str) -> Job | None:
        """The job, or None if there is no such job."""

    @abc.abstractmethod
    async def save(self, job: Job) -> None:
        """Write every field of an existing job."""

    @abc.abstractmethod
    async def move(self, job_id: str, account: str) -> None:
        """Hand the job to another provider account (the lifecycle guard's fallback)."""

    @abc.abstractmethod
    async def request_cancel(self, job_id: str, reason: str | None) -> None:
        """Mark the job for cancelling; only this writes the cancel request, so the
        worker's saves never undo it."""

    @abc.abstractmethod
    async def due(self, account: str, now: datetime, limit: int = 100) -> list[Job]:
        """Unfinished jobs of ``account`` whose next check is due or whose cancel request is
        not acted on yet, oldest first."""

    @abc.abstractmethod
    async def resume_all(self, account: str, now: datetime) -> int:
        """Make every unfinished job of ``account`` due now (at start-up); how many there are."""

    @abc.abstractmethod
    async def count_active(self, account: str) -> int:
        """Jobs holding one of the account's concurrent-job slots."""

    @abc.abstractmethod
    async def provider_job_ids(self, account: str) -> set[str]:
        """Provider job ids already known as one of our jobs."""

    @abc.abstractmethod
    async def find_file(self, account: str, sha256: str) -> str | None:
        """The provider file id of an identical file uploaded before."""

    @abc.abstractmethod
    async def remember_file(self, account: str, sha256: str, file_id: str, filename: str,
                            size_bytes: int, at: datetime) -> None:
        """Remember an uploaded file by its content hash, so an identical file is not uploaded twice."""

    @abc.abstractmethod
    async def record_status(self, job_id: str, status: JobStatus, at: datetime) -> None:
        """Add a state change to the job's history (once per status)."""

    @abc.abstractmethod
    async def add_events(self, job_id: str, events: list[ProviderEvent]) -> int:
        """Store provider events not stored yet; how many were new."""

    @abc.abstractmethod
    async def add_checkpoints(self, job_id: str, checkpoints: list[ProviderCheckpoint]) -> int:
        """Store checkpoints not stored yet; how many were new."""

    @abc.abstractmethod
    async def list_jobs(self, limit: int = 50) -> list[Job]:
        """Newest first."""

    @abc.abstractmethod
    async def history(self, job_id: str) -> list[tuple[JobStatus, datetime]]:
        """The statuses the job took, oldest first."""

    @abc.abstractmethod
    async def events(self, job_id: str) -> list[ProviderEvent]:
        """The provider events stored for the job, oldest first."""

    @abc.abstractmethod
    async def checkpoints(self, job_id: str) -> list[ProviderCheckpoint]:
        """The job's checkpoints by step."""


class SqlJobStore(AbstractJobStore):
    """The jobs in PostgreSQL, in the caller's session (the unit of work's transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, job: Job, account: str) -> bool:
        row = {**job_row(job), "account": account, "cancel_requested": job.cancel_requested,
               "cancel_reason": job.cancel_reason}
        stmt = pg_insert(jobs).values(**row).on_conflict_do_nothing().returning(jobs.c.job_id)
        return (await self.session.execute(stmt)).first() is not None

    async def take_lead(self, name: str) -> int:
        return await take_token(self.session, name)

    async def hold_lead(self, name: str, token: int) -> None:
        await hold_token(self.session, name, token)

    async def get(self, job_id: str) -> Job | None:
        row = (await self.session.execute(select(jobs).where(jobs.c.job_id == job_id))).mappings().first()
        return job_from_row(row) if row else None

    async def save(self, job: Job) -> None:
        await self.session.execute(update(jobs).where(jobs.c.job_id == job.job_id).values(**job_row(job)))

    async def move(self, job_id: str, account: str) -> None:
        await self.session.execute(update(jobs).where(jobs.c.job_id == job_id).values(account=account))

    async def request_cancel(self, job_id: str, reason: str | None) -> None:
        await self.session.execute(update(jobs).where(jobs.c.job_id == job_id)
                                   .values(cancel_requested=True, cancel_reason=reason))

    async def due(self, account: str, now: datetime, limit: int = 100) -> list[Job]:
        wanted = or_(jobs.c.next_check_at <= now, and_(jobs.c.cancel_requested, ~jobs.c.cancel_sent))
        stmt = (select(jobs).where(jobs.c.account == account, jobs.c.phase != Phase.DONE.value, wanted)
                .order_by(jobs.c.created_at, jobs.c.job_id).limit(limit))
        return [job_from_row(r) for r in (await self.session.execute(stmt)).mappings()]

    async def resume_all(self, account: str, now: datetime) -> int:
        stmt = (update(jobs).where(jobs.c.account == account, jobs.c.phase != Phase.DONE.value)
                .values(next_check_at=now).returning(jobs.c.job_id))
        return len((await self.session.execute(stmt)).all())

    async def count_active(self, account: str) -> int:
        stmt = select(func.count()).select_from(jobs).where(
            jobs.c.account == account, jobs.c.phase.in_([p.value for p in ACTIVE_PHASES]))
        return int((await self.session.execute(stmt)).scalar_one())

    async def provider_job_ids(self, account: str) -> set[str]:
        stmt = select(jobs.c.provider_job_id).where(jobs.c.account == account, jobs.c.provider_job_id.is_not(None))
        return set((await self.session.execute(stmt)).scalars())

    async def find_file(self, account: str, sha256: str) -> str | None:
        stmt = select(uploaded_files.c.file_id).where(uploaded_files.c.account == account,
                                                      uploaded_files.c.sha256 == sha256)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def remember_file(self, account: str, sha256: str, file_id: str, filename: str,
                            size_bytes: int, at: datetime) -> None:
        values = {"file_id": file_id, "filename": filename, "size_bytes": size_bytes, "uploaded_at": at}
        stmt = pg_insert(uploaded_files).values(account=account, sha256=sha256, **values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["account", "sha256"], set_=values))

    async def record_status(self, job_id: str, status: JobStatus, at: datetime) -> None:
        stmt = pg_insert(job_history).values(job_id=job_id, status=status.value, occurred_at=at)
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def add_events(self, job_id: str, events: list[ProviderEvent]) -> int:
        if not events:
            return 0
        rows = [{"job_id": job_id, "event_id": e.event_id, "created_at": e.created_at, "level": e.level,
                 "type": e.type, "message": e.message, "data": e.data} for e in events]
        stmt = pg_insert(job_events).values(rows).on_conflict_do_nothing().returning(job_events.c.event_id)
        return len((await self.session.execute(stmt)).all())

    async def add_checkpoints(self, job_id: str, checkpoints: list[ProviderCheckpoint]) -> int:
        if not checkpoints:
            return 0
        rows = [{"job_id": job_id, "checkpoint_id": c.checkpoint_id, "step": c.step, "created_at": c.created_at,
                 "model_checkpoint": c.model_checkpoint, "metrics": c.metrics} for c in checkpoints]
        stmt = (pg_insert(job_checkpoints).values(rows).on_conflict_do_nothing()
                .returning(job_checkpoints.c.checkpoint_id))
        return len((await self.session.execute(stmt)).all())

    async def list_jobs(self, limit: int = 50) -> list[Job]:
        stmt = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.job_id.desc()).limit(limit)
        return [job_from_row(r) for r in (await self.session.execute(stmt)).mappings()]

    async def history(self, job_id: str) -> list[tuple[JobStatus, datetime]]:
        stmt = select(job_history).where(job_history.c.job_id == job_id).order_by(job_history.c.occurred_at)
        return [(JobStatus(r["status"]), r["occurred_at"]) for r in (await self.session.execute(stmt)).mappings()]

    async def events(self, job_id: str) -> list[ProviderEvent]:
        stmt = (select(job_events).where(job_events.c.job_id == job_id)
                .order_by(job_events.c.created_at, job_events.c.event_id))
        return [ProviderEvent(event_id=r["event_id"], created_at=r["created_at"], level=r["level"],
                              message=r["message"], type=r["type"], data=r["data"])
                for r in (await self.session.execute(stmt)).mappings()]

    async def checkpoints(self, job_id: str) -> list[ProviderCheckpoint]:
        stmt = select(job_checkpoints).where(job_checkpoints.c.job_id == job_id).order_by(job_checkpoints.c.step)
        return [ProviderCheckpoint(checkpoint_id=r["checkpoint_id"], created_at=r["created_at"], step=r["step"],
                                   model_checkpoint=r["model_checkpoint"], metrics=r["metrics"])
                for r in (await self.session.execute(stmt)).mappings()]


def job_row(job: Job) -> dict[str, Any]:
    """Every column the worker owns (the cancel request is written by request_cancel only)."""
    return {
        "job_id": job.job_id, "provider": job.provider, "dataset_id": job.dataset_id,
        "dataset_version": job.dataset_version, "cycle_id": job.cycle_id, "base_model": job.base_model,
        "train": _file_json(job.train), "validation": _file_json(job.validation),
        "hyperparameters": job.hyperparameters.model_dump(mode="json"), "suffix": job.suffix, "seed": job.seed,
        "cause": job.cause, "estimated_cost_usd": job.estimated_cost_usd, "phase": job.phase.value,
        "status": job.status.value if job.status else None,
        "provider_job_id": job.provider_job_id, "provider_status": job.provider_status,
        "training_file_id": job.training_file_id, "validation_file_id": job.validation_file_id,
        "create_attempts": job.create_attempts, "intent_at": job.intent_at,
        "attempted_at": job.attempted_at,
        "fine_tuned_model": job.fine_tuned_model, "deployment_name": job.deployment_name,
        "trained_tokens": job.trained_tokens, "error": job.error.model_dump(mode="json") if job.error else None,
        "base_model_dates": job.base_model_dates.model_dump(mode="json") if job.base_model_dates else None,
        "metrics": job.metrics.model_dump(mode="json"), "cancel_sent": job.cancel_sent,
        "failures": job.failures, "check_interval_s": job.check_interval_s,
        "next_check_at": job.next_check_at, "last_event_id": job.last_event_id,
        "created_at": job.created_at, "updated_at": job.updated_at or job.created_at,
    }


def job_from_row(row: Any) -> Job:
    return Job(
        job_id=row["job_id"], provider=row["provider"], dataset_id=row["dataset_id"],
        dataset_version=row["dataset_version"], cycle_id=row["cycle_id"], base_model=row["base_model"],
        train=FileRef(**row["train"]), validation=FileRef(**row["validation"]),
        hyperparameters=Hyperparameters.model_validate(row["hyperparameters"]), suffix=row["suffix"],
        seed=row["seed"], created_at=row["created_at"], next_check_at=row["next_check_at"], cause=row["cause"],
        estimated_cost_usd=row["estimated_cost_usd"],
        phase=Phase(row["phase"]), status=JobStatus(row["status"]) if row["status"] else None,
        provider_job_id=row["provider_job_id"], provider_status=row["provider_status"],
        training_file_id=row["training_file_id"], validation_file_id=row["validation_file_id"],
        create_attempts=row["create_attempts"], intent_at=row["intent_at"], attempted_at=row["attempted_at"],
        fine_tuned_model=row["fine_tuned_model"], deployment_name=row["deployment_name"],
        trained_tokens=row["trained_tokens"],
        error=JobError.model_validate(row["error"]) if row["error"] else None,
        base_model_dates=PublishedDates.model_validate(row["base_model_dates"]) if row["base_model_dates"] else None,
        metrics=JobMetrics.model_validate(row["metrics"]), cancel_requested=row["cancel_requested"],
        cancel_reason=row["cancel_reason"], cancel_sent=row["cancel_sent"], failures=row["failures"],
        check_interval_s=row["check_interval_s"],
        last_event_id=row["last_event_id"], updated_at=row["updated_at"],
    )


def _file_json(ref: FileRef) -> dict[str, Any]:
    return {"uri": ref.uri, "sha256": ref.sha256, "size_bytes": ref.size_bytes}

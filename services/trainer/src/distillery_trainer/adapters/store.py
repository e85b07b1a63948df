"""Where uploaded files, training jobs, their events and checkpoints are kept.

Lists follow OpenAI's cursor pagination: newest first, ``after`` is the id of the last
item of the previous page, and each page says whether more follow.
"""

from __future__ import annotations

import abc
from dataclasses import asdict
from typing import Any

from sqlalchemy import and_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from distillery_trainer.adapters.tables import checkpoints, files, job_events, jobs
from distillery_trainer.domain.job import (
    UNFINISHED,
    Checkpoint,
    JobEvent,
    PublishedAdapter,
    Status,
    TrainingFile,
    TrainingJob,
)

Page = tuple[list[Any], bool]
"""Items of one page and whether more follow."""


class AbstractTrainerStore(abc.ABC):
    """Files, jobs, events and checkpoints of the trainer, in one unit of work."""

    @abc.abstractmethod
    async def add_file(self, file: TrainingFile) -> None: ...

    @abc.abstractmethod
    async def get_file(self, file_id: str) -> TrainingFile | None: ...

    @abc.abstractmethod
    async def add_job(self, job: TrainingJob) -> None:
        """Store a new job and the events it made."""

    @abc.abstractmethod
    async def get_job(self, job_id: str, for_update: bool = False) -> TrainingJob | None:
        """The job; ``for_update`` locks its row until the unit of work ends."""

    @abc.abstractmethod
    async def save_job(self, job: TrainingJob) -> None:
        """Write the job's fields, except the cancel request, and add the events it made."""

    @abc.abstractmethod
    async def request_cancel(self, job_id: str) -> None:
        """Only this writes the cancel request, so a trainer's saves never undo it."""

    @abc.abstractmethod
    async def jobs(self, limit: int, after: str | None = None, metadata: dict[str, str] | None = None) -> Page:
        """Jobs newest first, those with every ``metadata`` pair only."""

    @abc.abstractmethod
    async def unfinished(self, limit: int) -> list[str]:
        """Ids of jobs that still need a trainer, oldest first."""

    @abc.abstractmethod
    async def events(self, job_id: str, limit: int, after: str | None = None) -> Page:
        """The job's events, newest first."""

    @abc.abstractmethod
    async def add_checkpoint(self, job_id: str, checkpoint: Checkpoint) -> None:
        """Record a checkpoint; a step recorded before (by a run that was killed) is kept as it was."""

    @abc.abstractmethod
    async def checkpoints(self, job_id: str, limit: int, after: str | None = None) -> Page:
        """The job's checkpoints, newest first."""


class SqlTrainerStore(AbstractTrainerStore):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_file(self, file: TrainingFile) -> None:
        await self.session.execute(files.insert().values(**asdict(file)))

    async def get_file(self, file_id: str) -> TrainingFile | None:
        row = (await self.session.execute(select(files).where(files.c.file_id == file_id))).mappings().first()
        return TrainingFile(**row) if row else None

    async def add_job(self, job: TrainingJob) -> None:
        await self.session.execute(jobs.insert().values(**_job_row(job)))
        await self._flush_events(job)

    async def get_job(self, job_id: str, for_update: bool = False) -> TrainingJob | None:
        query = select(jobs).where(jobs.c.job_id == job_id)
        row = (await self.session.execute(query.with_for_update() if for_update else query)).mappings().first()
        return _job(row) if row else None

    async def save_job(self, job: TrainingJob) -> None:
        values = _job_row(job)
        values.pop("cancel_requested")
        await self.session.execute(update(jobs).where(jobs.c.job_id == job.job_id).values(**values))
        await self._flush_events(job)

    async def request_cancel(self, job_id: str) -> None:
        await self.session.execute(update(jobs).where(jobs.c.job_id == job_id).values(cancel_requested=True))

    async def jobs(self, limit: int, after: str | None = None, metadata: dict[str, str] | None = None) -> Page:
        query = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.job_id.desc()).limit(limit + 1)
        if metadata:
            query = query.where(jobs.c.metadata.contains(metadata))
        if after is not None:
            anchor = (await self.session.execute(select(jobs.c.created_at).where(jobs.c.job_id == after))).scalar()
            if anchor is None:
                return [], False
            query = query.where(tuple_(jobs.c.created_at, jobs.c.job_id) < tuple_(anchor, after))
        rows = (await self.session.execute(query)).mappings().all()
        return [_job(row) for row in rows[:limit]], len(rows) > limit

    async def unfinished(self, limit: int) -> list[str]:
        query = (select(jobs.c.job_id).where(jobs.c.status.in_(UNFINISHED))
                 .order_by(jobs.c.created_at, jobs.c.job_id).limit(limit))
        return list((await self.session.execute(query)).scalars())

    async def events(self, job_id: str, limit: int, after: str | None = None) -> Page:
        query = (select(job_events).where(job_events.c.job_id == job_id)
                 .order_by(job_events.c.seq.desc()).limit(limit + 1))
        if after is not None:
            anchor = select(job_events.c.seq).where(job_events.c.event_id == after).scalar_subquery()
            query = query.where(job_events.c.seq < anchor)
        rows = (await self.session.execute(query)).mappings().all()
        found = [JobEvent(event_id=r["event_id"], created_at=r["created_at"], level=r["level"], message=r["message"],
                          type=r["type"], data=r["data"]) for r in rows[:limit]]
        return found, len(rows) > limit

    async def add_checkpoint(self, job_id: str, checkpoint: Checkpoint) -> None:
        await self.session.execute(pg_insert(checkpoints).values(job_id=job_id, **asdict(checkpoint))
                                   .on_conflict_do_nothing(index_elements=["job_id", "step"]))

    async def checkpoints(self, job_id: str, limit: int, after: str | None = None) -> Page:
        query = (select(checkpoints).where(checkpoints.c.job_id == job_id)
                 .order_by(checkpoints.c.step.desc()).limit(limit + 1))
        if after is not None:
            anchor = select(checkpoints.c.step).where(and_(checkpoints.c.checkpoint_id == after,
                                                           checkpoints.c.job_id == job_id)).scalar_subquery()
            query = query.where(checkpoints.c.step < anchor)
        rows = (await self.session.execute(query)).mappings().all()
        found = [Checkpoint(checkpoint_id=r["checkpoint_id"], created_at=r["created_at"], step=r["step"],
                            metrics=r["metrics"], model_checkpoint=r["model_checkpoint"]) for r in rows[:limit]]
        return found, len(rows) > limit

    async def _flush_events(self, job: TrainingJob) -> None:
        if job.events:
            await self.session.execute(job_events.insert(), [
                {"job_id": job.job_id, **asdict(event)} for event in job.events])
            job.events.clear()


def _job_row(job: TrainingJob) -> dict[str, Any]:
    row = asdict(job)
    row.pop("events")
    row["status"] = job.status.value
    row["adapter"] = asdict(job.adapter) if job.adapter else None
    return row


def _job(row: Any) -> TrainingJob:
    values = dict(row)
    values["status"] = Status(values["status"])
    values["adapter"] = PublishedAdapter(**values["adapter"]) if values["adapter"] else None
    return TrainingJob(**values)

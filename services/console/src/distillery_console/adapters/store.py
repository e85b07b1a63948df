"""The console's read-model store: an interface, its SQL adapter (the fake is in fakes.py).

Writes are upserts keyed by event ids, so a redelivered or replayed event leaves the model
as it was; reads return the contract events the rows were made from.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, and_, case, func, null, or_, select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from distillery_console.adapters import tables as t
from distillery_console.domain.cycles import CycleStep
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.evaluations import EvaluationCompleted, EvaluationItemScored
from distillery_contracts.finetune import FinetuneJobChanged, JobCheckpoint, LossPoint, PublishedDates
from distillery_contracts.rollout import RolloutDecided
from distillery_contracts.routing import RouteTableUpdated
from distillery_runtime.model_calendar import Published


@dataclass(frozen=True)
class Cycle:
    cycle_id: str
    started_at: datetime
    updated_at: datetime
    phase: str
    candidate_model: str | None


@dataclass(frozen=True)
class JobPoint:
    job_id: str
    status: str
    occurred_at: datetime
    step: int | None
    train_loss: float | None
    valid_loss: float | None


@dataclass(frozen=True)
class TrainedBase:
    """The base model a job fine-tunes, and where."""

    base_model: str
    provider: str


@dataclass(frozen=True)
class OperatorAction:
    action_id: str
    rollout_id: str
    action: str
    operator: str
    reason: str | None
    requested_at: datetime


class AbstractConsoleStore(abc.ABC):
    """The read model behind every console page; one contract suite runs on both adapters."""

    # --- writes (handlers, through services.py) ---
    @abc.abstractmethod
    async def save_route_table(self, table: RouteTableUpdated) -> None:
        """Keep the table unless the stored one has a higher version."""

    @abc.abstractmethod
    async def apply_cycle_step(self, step: CycleStep) -> None:
        """Create the cycle, or move its phase when ``step`` is not older than its latest event."""

    @abc.abstractmethod
    async def save_dataset(self, dataset: DatasetBuilt) -> None: ...

    @abc.abstractmethod
    async def save_job_event(self, event_id: str, job: FinetuneJobChanged) -> None: ...

    @abc.abstractmethod
    async def save_loss_curve(self, job: FinetuneJobChanged) -> None:
        """Keep the event's loss curve as its job's unless the stored one came from a later event
        (at the same time, the longer curve wins), so a replay in any order keeps the same curve."""

    @abc.abstractmethod
    async def save_evaluation(self, evaluation: EvaluationCompleted) -> None: ...

    @abc.abstractmethod
    async def save_items(self, items: list[tuple[EvaluationItemScored, bool]]) -> None:
        """Items with whether each is failing."""

    @abc.abstractmethod
    async def save_decision(self, decision: RolloutDecided) -> None: ...

    @abc.abstractmethod
    async def add_rejections(self, counts: dict[tuple[str, str], int]) -> None:
        """Add to the count of examples rejected per (cleaner version, reason)."""

    @abc.abstractmethod
    async def save_operator_action(self, action: OperatorAction) -> None: ...

    # --- reads (views.py) ---
    @abc.abstractmethod
    async def route_tables(self) -> list[RouteTableUpdated]: ...

    @abc.abstractmethod
    async def cycles(self, limit: int) -> list[Cycle]:
        """Newest first."""

    @abc.abstractmethod
    async def cycle(self, cycle_id: str) -> Cycle | None: ...

    @abc.abstractmethod
    async def datasets(self, cycle_id: str) -> list[DatasetBuilt]:
        """By version."""

    @abc.abstractmethod
    async def dataset_before(self, version: int) -> DatasetBuilt | None:
        """The published dataset with the highest version below ``version``."""

    @abc.abstractmethod
    async def job_points(self, cycle_id: str) -> list[JobPoint]:
        """By time."""

    @abc.abstractmethod
    async def latest_training(self) -> TrainedBase | None:
        """The base model and provider of the latest job event (None before any)."""

    @abc.abstractmethod
    async def published_dates(self) -> list[Published]:
        """What providers publish for the base models jobs trained, the latest event's for each
        provider and base model, oldest first (see model_calendar.with_published)."""

    @abc.abstractmethod
    async def loss_curves(self, cycle_id: str) -> dict[str, list[LossPoint]]:
        """The cycle's jobs' loss curves by job id, in job id order (jobs without one left out)."""

    @abc.abstractmethod
    async def checkpoints(self, cycle_id: str) -> dict[str, list[JobCheckpoint]]:
        """The cycle's jobs' checkpoints by job id, in job id order (jobs without any left out),
        from the same event as their loss curve."""

    @abc.abstractmethod
    async def evaluations(self, cycle_id: str) -> list[EvaluationCompleted]: ...

    @abc.abstractmethod
    async def evaluation(self, run_id: str) -> EvaluationCompleted | None: ...

    @abc.abstractmethod
    async def items(self, run_id: str, failing_only: bool, offset: int, limit: int) -> list[EvaluationItemScored]:
        """By position."""

    @abc.abstractmethod
    async def count_items(self, run_id: str, failing_only: bool) -> int: ...

    @abc.abstractmethod
    async def decisions(self, *, cycle_id: str | None = None, rollout_id: str | None = None,
                        limit: int = 200) -> list[RolloutDecided]:
        """Of a cycle or a rollout (or all), oldest first, the latest ``limit``."""

    @abc.abstractmethod
    async def rejections(self, cleaner_versions: list[str]) -> dict[str, int]:
        """Rejected examples per reason over those cleaner versions."""

    @abc.abstractmethod
    async def operator_actions(self, rollout_id: str) -> list[OperatorAction]: ...


class SqlConsoleStore(AbstractConsoleStore):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save_route_table(self, table: RouteTableUpdated) -> None:
        stmt = insert(t.route_tables).values(route=table.route, version=table.version, rollout_id=table.rollout_id,
                                             payload=table.model_dump(mode="json"), updated_at=table.updated_at)
        await self.session.execute(stmt.on_conflict_do_update(
            index_elements=["route"], set_=dict(stmt.excluded),
            where=t.route_tables.c.version <= stmt.excluded.version))

    async def apply_cycle_step(self, step: CycleStep) -> None:
        c = t.cycles.c
        stmt = insert(t.cycles).values(cycle_id=step.cycle_id, started_at=step.at, updated_at=step.at,
                                       phase=step.phase, candidate_model=step.candidate_model)
        newer = stmt.excluded.updated_at >= c.updated_at
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["cycle_id"], set_={
            "started_at": func.least(c.started_at, stmt.excluded.started_at),
            "updated_at": func.greatest(c.updated_at, stmt.excluded.updated_at),
            "phase": case((newer, stmt.excluded.phase), else_=c.phase),
            "candidate_model": func.coalesce(case((newer, stmt.excluded.candidate_model), else_=c.candidate_model),
                                             c.candidate_model, stmt.excluded.candidate_model),
        }))

    async def save_dataset(self, dataset: DatasetBuilt) -> None:
        await self._upsert(t.datasets, "dataset_id", dataset_id=dataset.dataset_id, cycle_id=dataset.cycle_id,
                           version=dataset.version, built_at=dataset.built_at,
                           payload=dataset.model_dump(mode="json"))

    async def save_job_event(self, event_id: str, job: FinetuneJobChanged) -> None:
        m = job.metrics
        await self._upsert(t.job_events, "event_id", event_id=event_id, job_id=job.job_id, cycle_id=job.cycle_id,
                           status=job.status.value, step=m.step, train_loss=m.train_loss, valid_loss=m.valid_loss,
                           occurred_at=job.occurred_at, provider=job.provider, base_model=job.base_model,
                           base_model_dates=job.base_model_dates.model_dump(mode="json") if job.base_model_dates
                           else null())  # SQL NULL, not JSON's: the reads below skip it

    async def save_loss_curve(self, job: FinetuneJobChanged) -> None:
        c = t.job_curves.c
        stmt = insert(t.job_curves).values(job_id=job.job_id, cycle_id=job.cycle_id, occurred_at=job.occurred_at,
                                           points=[p.model_dump(mode="json") for p in job.loss_curve],
                                           checkpoints=[cp.model_dump(mode="json") for cp in job.checkpoints])
        new = stmt.excluded
        later = or_(new.occurred_at > c.occurred_at,
                    and_(new.occurred_at == c.occurred_at,
                         func.jsonb_array_length(new.points) > func.jsonb_array_length(c.points)))
        await self.session.execute(stmt.on_conflict_do_update(
            index_elements=["job_id"], where=later,
            set_={"cycle_id": new.cycle_id, "occurred_at": new.occurred_at, "points": new.points,
                  "checkpoints": new.checkpoints}))

    async def save_evaluation(self, evaluation: EvaluationCompleted) -> None:
        await self._upsert(t.evaluations, "run_id", run_id=evaluation.run_id, cycle_id=evaluation.cycle_id,
                           outcome=evaluation.outcome.value, completed_at=evaluation.completed_at,
                           payload=evaluation.model_dump(mode="json"))

    async def save_items(self, items: list[tuple[EvaluationItemScored, bool]]) -> None:
        if not items:
            return
        rows = [{"run_id": i.run_id, "item_id": i.item_id, "position": i.position, "failing": failing,
                 "payload": i.model_dump(mode="json"), "scored_at": i.scored_at, "trace_id": i.trace_id} for i, failing in items]
        stmt = insert(t.eval_items).values(rows)
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def save_decision(self, decision: RolloutDecided) -> None:
        await self._upsert(t.decisions, "decision_id", decision_id=decision.decision_id,
                           rollout_id=decision.rollout_id, cycle_id=decision.cycle_id,
                           decided_at=decision.decided_at, payload=decision.model_dump(mode="json"))

    async def add_rejections(self, counts: dict[tuple[str, str], int]) -> None:
        if not counts:
            return
        rows = [{"cleaner_version": v, "reason": r, "examples": n} for (v, r), n in sorted(counts.items())]
        stmt = insert(t.rejections).values(rows)
        await self.session.execute(stmt.on_conflict_do_update(
            index_elements=["cleaner_version", "reason"],
            set_={"examples": t.rejections.c.examples + stmt.excluded.examples}))

    async def save_operator_action(self, action: OperatorAction) -> None:
        await self._upsert(t.operator_actions, "action_id", action_id=action.action_id, rollout_id=action.rollout_id,
                           action=action.action, operator=action.operator, reason=action.reason,
                           requested_at=action.requested_at)

    async def _upsert(self, table: Table, key_column: str, **values: object) -> None:
        await self.session.execute(insert(table).values(**values).on_conflict_do_nothing(index_elements=[key_column]))

    # --- reads ---
    async def route_tables(self) -> list[RouteTableUpdated]:
        rows = await self.session.scalars(select(t.route_tables.c.payload).order_by(t.route_tables.c.route))
        return [RouteTableUpdated.model_validate(p) for p in rows]

    async def cycles(self, limit: int) -> list[Cycle]:
        c = t.cycles.c
        rows = await self.session.execute(select(t.cycles).order_by(c.started_at.desc(), c.cycle_id).limit(limit))
        return [Cycle(**r._mapping) for r in rows]

    async def cycle(self, cycle_id: str) -> Cycle | None:
        row = (await self.session.execute(select(t.cycles).where(t.cycles.c.cycle_id == cycle_id))).first()
        return Cycle(**row._mapping) if row else None

    async def datasets(self, cycle_id: str) -> list[DatasetBuilt]:
        c = t.datasets.c
        rows = await self.session.scalars(select(c.payload).where(c.cycle_id == cycle_id).order_by(c.version))
        return [DatasetBuilt.model_validate(p) for p in rows]

    async def dataset_before(self, version: int) -> DatasetBuilt | None:
        c = t.datasets.c
        payload = await self.session.scalar(
            select(c.payload).where(c.version < version).order_by(c.version.desc()).limit(1))
        return DatasetBuilt.model_validate(payload) if payload is not None else None

    async def job_points(self, cycle_id: str) -> list[JobPoint]:
        c = t.job_events.c
        rows = await self.session.execute(
            select(c.job_id, c.status, c.occurred_at, c.step, c.train_loss, c.valid_loss)
            .where(c.cycle_id == cycle_id).order_by(c.occurred_at, c.event_id))
        return [JobPoint(**r._mapping) for r in rows]

    async def latest_training(self) -> TrainedBase | None:
        c = t.job_events.c
        row = (await self.session.execute(
            select(c.base_model, c.provider).where(c.base_model.is_not(None))
            .order_by(c.occurred_at.desc(), c.event_id.desc()).limit(1))).first()
        return TrainedBase(row.base_model, row.provider) if row else None

    async def published_dates(self) -> list[Published]:
        c = t.job_events.c
        latest = (select(c.provider, c.base_model, c.base_model_dates, c.occurred_at)
                  .where(c.base_model_dates.is_not(None))
                  .ext(distinct_on(c.provider, c.base_model))
                  .order_by(c.provider, c.base_model, c.occurred_at.desc(), c.event_id.desc()).subquery())
        rows = await self.session.execute(select(latest).order_by(latest.c.occurred_at))
        return [(r.provider, r.base_model, PublishedDates.model_validate(r.base_model_dates)) for r in rows]

    async def loss_curves(self, cycle_id: str) -> dict[str, list[LossPoint]]:
        c = t.job_curves.c
        rows = await self.session.execute(select(c.job_id, c.points).where(
            c.cycle_id == cycle_id, func.jsonb_array_length(c.points) > 0).order_by(c.job_id))
        return {job_id: [LossPoint.model_validate(p) for p in points] for job_id, points in rows}

    async def checkpoints(self, cycle_id: str) -> dict[str, list[JobCheckpoint]]:
        c = t.job_curves.c
        rows = await self.session.execute(select(c.job_id, c.checkpoints).where(
            c.cycle_id == cycle_id, func.jsonb_array_length(c.checkpoints) > 0).order_by(c.job_id))
        return {job_id: [JobCheckpoint.model_validate(cp) for cp in found] for job_id, found in rows}

    async def evaluations(self, cycle_id: str) -> list[EvaluationCompleted]:
        c = t.evaluations.c
        rows = await self.session.scalars(select(c.payload).where(c.cycle_id == cycle_id).order_by(c.completed_at))
        return [EvaluationCompleted.model_validate(p) for p in rows]

    async def evaluation(self, run_id: str) -> EvaluationCompleted | None:
        payload = await self.session.scalar(select(t.evaluations.c.payload).where(t.evaluations.c.run_id == run_id))
        return EvaluationCompleted.model_validate(payload) if payload is not None else None

    async def items(self, run_id: str, failing_only: bool, offset: int, limit: int) -> list[EvaluationItemScored]:
        c = t.eval_items.c
        query = select(c.payload).where(c.run_id == run_id)
        if failing_only:
            query = query.where(c.failing)
        rows = await self.session.scalars(query.order_by(c.position, c.item_id).offset(offset).limit(limit))
        return [EvaluationItemScored.model_validate(p) for p in rows]

    async def count_items(self, run_id: str, failing_only: bool) -> int:
        c = t.eval_items.c
        query = select(func.count()).select_from(t.eval_items).where(c.run_id == run_id)
        if failing_only:
            query = query.where(c.failing)
        return int(await self.session.scalar(query) or 0)

    async def decisions(self, *, cycle_id: str | None = None, rollout_id: str | None = None,
                        limit: int = 200) -> list[RolloutDecided]:
        c = t.decisions.c
        query = select(c.payload, c.decided_at)
        if cycle_id is not None:
            query = query.where(c.cycle_id == cycle_id)
        if rollout_id is not None:
            query = query.where(c.rollout_id == rollout_id)
        latest = query.order_by(c.decided_at.desc(), c.decision_id.desc()).limit(limit).subquery()
        rows = await self.session.scalars(select(latest.c.payload).order_by(latest.c.decided_at))
        return [RolloutDecided.model_validate(p) for p in rows]

    async def rejections(self, cleaner_versions: list[str]) -> dict[str, int]:
        c = t.rejections.c
        rows = await self.session.execute(
            select(c.reason, func.sum(c.examples)).where(c.cleaner_version.in_(cleaner_versions))
            .group_by(c.reason).order_by(func.sum(c.examples).desc(), c.reason))
        return {reason: int(n) for reason, n in rows}

    async def operator_actions(self, rollout_id: str) -> list[OperatorAction]:
        c = t.operator_actions.c
        rows = await self.session.execute(
            select(t.operator_actions).where(c.rollout_id == rollout_id).order_by(c.requested_at))
        return [OperatorAction(**r._mapping) for r in rows]

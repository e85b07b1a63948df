"""The evaluator's store: what it remembers of other services' events, its runs and
their answers and scores, and the queue of sampled live calls.

``AbstractEvalRepository`` works inside one transaction (a unit of work's session);
``SqlEvalRepository`` is the PostgreSQL adapter and ``FakeEvalRepository`` (fakes.py)
the in-memory one for tests.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.rollout import RolloutDecided, RolloutDecision
from distillery_contracts.routing import RouteTableUpdated
from distillery_evaluator.adapters import tables as t
from distillery_evaluator.domain.evalset import EvalItem
from distillery_evaluator.domain.requests import ModelTarget, RunRequest
from distillery_evaluator.domain.results import Answer, ItemScore, Usage
from distillery_runtime.fencing import LostLease

ENDED_DECISIONS = frozenset({RolloutDecision.COMPLETED, RolloutDecision.ROLLED_BACK,
                             RolloutDecision.ABORTED})
PRODUCTION_ARM = "production"


@dataclass(frozen=True)
class RunRecord:
    """A run as stored: its request, state and, once done, its result."""

    run_id: str
    status: str
    request: RunRequest
    cause: dict[str, Any] | None
    requested_at: datetime
    completed_at: datetime | None = None
    outcome: str | None = None
    result: dict[str, Any] | None = None
    notes: dict[str, Any] | None = None
    lease_token: int = 0
    """Fencing token of the claim that returned the record: every claim takes a new one, so an
    instance whose lease ran out (and the run was claimed again) can save nothing more."""


@dataclass(frozen=True)
class ForgottenDetails:
    """What one round of :meth:`AbstractEvalRepository.forget_run_details` deleted: the rows
    (items, answers and scores together) and the runs they belonged to."""

    rows: int
    run_ids: frozenset[str]


@dataclass(frozen=True)
class QueuedCall:
    """A sampled live call waiting to be scored; ``leased_until``, set by ``claim_calls``, is the
    claim's fencing token: ``finish_call`` saves nothing once the call was claimed again."""

    observation_id: str
    rollout_id: str
    trace: dict[str, Any]
    cause: dict[str, Any]
    attempts: int
    leased_until: datetime | None = field(default=None, compare=False)


class AbstractEvalRepository(abc.ABC):
    """Everything the evaluator stores; every method runs in the caller's transaction."""

    # what other services told us
    @abc.abstractmethod
    async def remember_dataset(self, event: DatasetBuilt) -> None: ...
    @abc.abstractmethod
    async def validation_uri(self, dataset_id: str | None) -> tuple[str, str] | None:
        """(dataset_id, validation URI) of that dataset, or of the latest one when None."""
    @abc.abstractmethod
    async def remember_model(self, model: str, provider: str, deployment: str | None,
                             job_id: str | None, dataset_id: str | None) -> None: ...
    @abc.abstractmethod
    async def target_of(self, model: str) -> ModelTarget:
        """The model with the deployment and provider it was trained with (None when unknown)."""
    @abc.abstractmethod
    async def save_route(self, table: RouteTableUpdated) -> None: ...
    @abc.abstractmethod
    async def save_rollout(self, decision: RolloutDecided) -> None: ...
    @abc.abstractmethod
    async def live_candidate(self) -> str | None:
        """The candidate of the newest rollout still under way."""
    @abc.abstractmethod
    async def last_completed(self) -> tuple[str, datetime] | None:
        """The candidate of the newest completed rollout, and when it completed."""
    @abc.abstractmethod
    async def route_table(self, route: str) -> RouteTableUpdated | None:
        """The newest routing table saved for ``route``."""
    @abc.abstractmethod
    async def ended_rollouts(self, rollout_ids: list[str]) -> set[str]: ...

    # runs
    @abc.abstractmethod
    async def create_run(self, request: RunRequest, cause: dict[str, Any] | None) -> bool:
        """Store a pending run; False when a run with that id exists already."""
    @abc.abstractmethod
    async def claim_run(self, now: datetime, lease: timedelta) -> RunRecord | None:
        """The oldest pending run (or one whose lease ran out), now leased to the caller under a
        new ``lease_token``."""
    @abc.abstractmethod
    async def renew_lease(self, run_id: str, token: int, until: datetime) -> None:
        """Extend the lease of ``token``; raise ``LostLease`` when the run was claimed again since."""
    @abc.abstractmethod
    async def hold_run(self, run_id: str, token: int) -> None:
        """Raise ``LostLease`` unless ``token`` still holds the run; no new claim can take it
        before the caller's transaction ends (every save under a lease calls this first)."""
    @abc.abstractmethod
    async def save_items(self, run_id: str, items: list[EvalItem]) -> None: ...
    @abc.abstractmethod
    async def items(self, run_id: str) -> list[EvalItem]: ...
    @abc.abstractmethod
    async def save_answers(self, run_id: str, answers: list[Answer]) -> None: ...
    @abc.abstractmethod
    async def answers(self, run_id: str) -> list[Answer]: ...
    @abc.abstractmethod
    async def save_scores(self, run_id: str, scores: list[ItemScore]) -> None: ...
    @abc.abstractmethod
    async def scores(self, run_id: str) -> list[ItemScore]: ...
    @abc.abstractmethod
    async def record_eval_set(self, version: str, name: str, size: int, source: str) -> None: ...
    @abc.abstractmethod
    async def finish_run(self, run_id: str, outcome: str, result: dict[str, Any],
                         notes: dict[str, Any], at: datetime) -> None: ...
    @abc.abstractmethod
    async def run(self, run_id: str) -> RunRecord | None: ...
    @abc.abstractmethod
    async def list_runs(self, limit: int = 50) -> list[RunRecord]: ...
    @abc.abstractmethod
    async def forget_run_details(self, completed_before: datetime, limit: int) -> ForgottenDetails:
        """Delete at most ``limit`` rows of each of a run's items, answers and scores, of runs that
        finished before ``completed_before``; a run not finished (pending or running) keeps every
        row, since it resumes from them. The run itself (request, verdict, notes) stays."""

    # online
    @abc.abstractmethod
    async def enqueue_calls(self, calls: list[QueuedCall]) -> None: ...
    @abc.abstractmethod
    async def claim_calls(self, limit: int, now: datetime, lease: timedelta) -> list[QueuedCall]: ...
    @abc.abstractmethod
    async def finish_call(self, call: QueuedCall, arm: str, model: str, scored: dict[str, Any],
                          teacher_answer: str | None, findings: list[str], at: datetime) -> None:
        """Record the call's scores and mark it done; raise ``LostLease`` when ``call``'s claim is
        no longer the call's (its lease ran out and it was claimed, deferred or finished since)."""
    @abc.abstractmethod
    async def forget_calls(self, queued_before: datetime, now: datetime, limit: int) -> int:
        """Delete at most ``limit`` live calls queued before ``queued_before``, scored or not, with
        their scores; a call leased or waiting to be retried past ``now`` stays (it may be being
        scored). Returns how many."""
    @abc.abstractmethod
    async def defer_call(self, observation_id: str, attempts: int, not_before: datetime) -> None: ...

    async def production(self, route: str) -> ModelTarget | None:
        """The student a new candidate must beat on ``route``: the candidate of a rollout
        still under way (it becomes production if it completes, and a queued successor
        would replace it), else the 'production' arm or the candidate of the latest
        completed rollout, whichever is more recent; None: teacher only. One rule for every
        store, on the facts each gives."""
        live = await self.live_candidate()
        if live is not None:
            return await self.target_of(live)
        table, completed = await self.route_table(route), await self.last_completed()
        arm = next((a for a in table.arms if a.name == PRODUCTION_ARM), None) if table else None
        if table is not None and arm is not None and (completed is None or table.updated_at >= completed[1]):
            return ModelTarget(model=arm.model, deployment=arm.deployment, provider=arm.provider)
        return await self.target_of(completed[0]) if completed else None


class SqlEvalRepository(AbstractEvalRepository):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _run(self, stmt: Any) -> Any:
        return await self.session.execute(stmt)

    async def remember_dataset(self, event: DatasetBuilt) -> None:
        values = {"dataset_id": event.dataset_id, "version": event.version, "cycle_id": event.cycle_id,
                  "validation_uri": event.files.validation.uri,
                  "validation_sha256": event.files.validation.sha256, "built_at": event.built_at}
        await self._run(pg_insert(t.datasets).values(values).on_conflict_do_nothing())

    async def validation_uri(self, dataset_id: str | None) -> tuple[str, str] | None:
        stmt = select(t.datasets.c.dataset_id, t.datasets.c.validation_uri)
        stmt = (stmt.where(t.datasets.c.dataset_id == dataset_id) if dataset_id
                else stmt.order_by(t.datasets.c.built_at.desc()).limit(1))
        row = (await self._run(stmt)).first()
        return (row.dataset_id, row.validation_uri) if row else None

    async def remember_model(self, model: str, provider: str, deployment: str | None,
                             job_id: str | None, dataset_id: str | None) -> None:
        values = {"model": model, "provider": provider, "deployment": deployment, "job_id": job_id,
                  "dataset_id": dataset_id}
        stmt = pg_insert(t.models).values(values)
        await self._run(stmt.on_conflict_do_update(
            index_elements=["model"], set_={"deployment": stmt.excluded.deployment,
                                            "provider": stmt.excluded.provider}))

    async def target_of(self, model: str) -> ModelTarget:
        row = (await self._run(select(t.models.c.deployment, t.models.c.provider)
                               .where(t.models.c.model == model))).first()
        return ModelTarget(model=model, deployment=row.deployment if row else None,
                           provider=row.provider if row else None)

    async def save_route(self, table: RouteTableUpdated) -> None:
        values = {"route": table.route, "version": table.version, "rollout_id": table.rollout_id,
                  "arms": [a.model_dump(mode="json") for a in table.arms], "updated_at": table.updated_at}
        stmt = pg_insert(t.routes).values(values)
        await self._run(stmt.on_conflict_do_update(
            index_elements=["route"], set_={k: stmt.excluded[k] for k in values if k != "route"},
            where=t.routes.c.version < stmt.excluded.version))

    async def save_rollout(self, decision: RolloutDecided) -> None:
        values = {"rollout_id": decision.rollout_id, "candidate_model": decision.candidate_model,
                  "previous_model": decision.previous_model, "teacher_model": decision.teacher_model,
                  "active": decision.decision not in ENDED_DECISIONS,
                  "last_decision": str(decision.decision), "decided_at": decision.decided_at}
        stmt = pg_insert(t.rollouts).values(values)
        await self._run(stmt.on_conflict_do_update(
            index_elements=["rollout_id"],
            set_={k: stmt.excluded[k] for k in ("active", "last_decision", "decided_at")},
            where=t.rollouts.c.decided_at <= stmt.excluded.decided_at))

    async def live_candidate(self) -> str | None:
        stmt = (select(t.rollouts.c.candidate_model).where(t.rollouts.c.active.is_(True))
                .order_by(t.rollouts.c.decided_at.desc()).limit(1))
        candidate: str | None = (await self._run(stmt)).scalar()
        return candidate

    async def last_completed(self) -> tuple[str, datetime] | None:
        row = (await self._run(
            select(t.rollouts.c.candidate_model, t.rollouts.c.decided_at)
            .where(t.rollouts.c.last_decision == str(RolloutDecision.COMPLETED))
            .order_by(t.rollouts.c.decided_at.desc()).limit(1))).first()
        return (row.candidate_model, row.decided_at) if row else None

    async def route_table(self, route: str) -> RouteTableUpdated | None:
        row = (await self._run(select(t.routes).where(t.routes.c.route == route))).mappings().first()
        return RouteTableUpdated.model_validate(dict(row)) if row else None

    async def ended_rollouts(self, rollout_ids: list[str]) -> set[str]:
        stmt = select(t.rollouts.c.rollout_id).where(
            t.rollouts.c.rollout_id.in_(rollout_ids), t.rollouts.c.active.is_(False))
        return set((await self._run(stmt)).scalars())

    async def create_run(self, request: RunRequest, cause: dict[str, Any] | None) -> bool:
        stmt = pg_insert(t.runs).values(
            run_id=request.run_id, status="pending", trigger=request.trigger,
            request=request.model_dump(mode="json"), cause=cause,
        ).on_conflict_do_nothing().returning(t.runs.c.run_id)
        return (await self._run(stmt)).first() is not None

    async def claim_run(self, now: datetime, lease: timedelta) -> RunRecord | None:
        stmt = (select(t.runs).where(or_(t.runs.c.status == "pending", and_(
            t.runs.c.status == "running", t.runs.c.lease_until < now)))
            .order_by(t.runs.c.requested_at).limit(1).with_for_update(skip_locked=True))
        row = (await self._run(stmt)).first()
        if row is None:
            return None
        token = (await self._run(update(t.runs).where(t.runs.c.run_id == row.run_id).values(
            status="running", lease_until=now + lease, started_at=row.started_at or now,
            lease_token=t.runs.c.lease_token + 1).returning(t.runs.c.lease_token))).scalar_one()
        return replace(_record(row, status="running"), lease_token=token)

    async def renew_lease(self, run_id: str, token: int, until: datetime) -> None:
        renewed = await self._run(update(t.runs).where(
            t.runs.c.run_id == run_id, t.runs.c.lease_token == token, t.runs.c.status == "running")
            .values(lease_until=until).returning(t.runs.c.run_id))
        if renewed.first() is None:
            raise LostLease(f"evaluation {run_id}: lease {token} was taken over; its work here is dropped")

    async def hold_run(self, run_id: str, token: int) -> None:
        stmt = select(t.runs.c.lease_token, t.runs.c.status).where(t.runs.c.run_id == run_id).with_for_update(
            read=True)
        row = (await self._run(stmt)).first()
        if row is None or row.lease_token != token or row.status != "running":
            raise LostLease(f"evaluation {run_id}: lease {token} was taken over; its work here is dropped")

    async def save_items(self, run_id: str, items: list[EvalItem]) -> None:
        if items:
            rows = [{"run_id": run_id, "item_id": i.item_id, "set_name": i.set_name,
                     "item": i.to_json()} for i in items]
            await self._run(pg_insert(t.run_items).values(rows).on_conflict_do_nothing())

    async def items(self, run_id: str) -> list[EvalItem]:
        stmt = select(t.run_items.c.item).where(t.run_items.c.run_id == run_id).order_by(
            t.run_items.c.set_name, t.run_items.c.item_id)
        return [EvalItem.from_json(item) for item in (await self._run(stmt)).scalars()]

    async def save_answers(self, run_id: str, answers: list[Answer]) -> None:
        if not answers:
            return
        rows = [_answer_row(run_id, a) for a in answers]
        stmt = pg_insert(t.answers).values(rows)
        await self._run(stmt.on_conflict_do_update(
            index_elements=["run_id", "item_id", "role"],
            set_={k: stmt.excluded[k] for k in rows[0] if k not in ("run_id", "item_id", "role")}))

    async def answers(self, run_id: str) -> list[Answer]:
        rows = (await self._run(select(t.answers).where(t.answers.c.run_id == run_id))).all()
        return [_answer(row) for row in rows]

    async def save_scores(self, run_id: str, scores: list[ItemScore]) -> None:
        if not scores:
            return
        rows = [{"run_id": run_id, "item_id": s.item_id, "role": s.role, "scorer": s.scorer,
                 "value": s.value, "label": s.label, "detail": s.detail} for s in scores]
        stmt = pg_insert(t.scores).values(rows)
        await self._run(stmt.on_conflict_do_update(
            index_elements=["run_id", "item_id", "role", "scorer"],
            set_={k: stmt.excluded[k] for k in ("value", "label", "detail")}))

    async def scores(self, run_id: str) -> list[ItemScore]:
        rows = (await self._run(select(t.scores).where(t.scores.c.run_id == run_id))).all()
        return [ItemScore(r.item_id, r.role, r.scorer, r.value, r.label, r.detail) for r in rows]

    async def record_eval_set(self, version: str, name: str, size: int, source: str) -> None:
        await self._run(pg_insert(t.eval_sets).values(
            version=version, name=name, size=size, source=source).on_conflict_do_nothing())

    async def finish_run(self, run_id: str, outcome: str, result: dict[str, Any],
                         notes: dict[str, Any], at: datetime) -> None:
        await self._run(update(t.runs).where(t.runs.c.run_id == run_id).values(
            status="done", outcome=outcome, result=result, notes=notes, completed_at=at,
            lease_until=None))

    async def run(self, run_id: str) -> RunRecord | None:
        row = (await self._run(select(t.runs).where(t.runs.c.run_id == run_id))).first()
        return _record(row) if row else None

    async def list_runs(self, limit: int = 50) -> list[RunRecord]:
        stmt = select(t.runs).order_by(t.runs.c.requested_at.desc()).limit(limit)
        return [_record(row) for row in (await self._run(stmt)).all()]

    async def forget_run_details(self, completed_before: datetime, limit: int) -> ForgottenDetails:
        rows = (await self._run(_FORGET_RUN_DETAILS.bindparams(before=completed_before, limit=limit))).all()
        return ForgottenDetails(sum(r.n for r in rows), frozenset(r.run_id for r in rows))

    async def enqueue_calls(self, calls: list[QueuedCall]) -> None:
        if calls:
            rows = [{"observation_id": c.observation_id, "rollout_id": c.rollout_id, "trace": c.trace,
                     "cause": c.cause, "status": "pending"} for c in calls]
            await self._run(pg_insert(t.online_queue).values(rows).on_conflict_do_nothing())

    async def claim_calls(self, limit: int, now: datetime, lease: timedelta) -> list[QueuedCall]:
        q = t.online_queue
        stmt = (select(q).where(q.c.status == "pending", q.c.not_before <= now)
                .order_by(q.c.enqueued_at).limit(limit).with_for_update(skip_locked=True))
        rows = (await self._run(stmt)).all()
        if rows:
            await self._run(update(q).where(q.c.observation_id.in_([r.observation_id for r in rows]))
                            .values(not_before=now + lease))
        return [QueuedCall(r.observation_id, r.rollout_id, r.trace, r.cause, r.attempts, now + lease) for r in rows]

    async def finish_call(self, call: QueuedCall, arm: str, model: str, scored: dict[str, Any],
                          teacher_answer: str | None, findings: list[str], at: datetime) -> None:
        q = t.online_queue
        held = (q.c.observation_id == call.observation_id) & (q.c.status == "pending")
        if call.leased_until is not None:
            held &= q.c.not_before == call.leased_until
        if not (await self._run(update(q).where(held).values(status="done").returning(q.c.observation_id))).first():
            raise LostLease(f"live call {call.observation_id} was claimed again since this instance took it")
        await self._run(pg_insert(t.online_scores).values(
            observation_id=call.observation_id, rollout_id=call.rollout_id, arm=arm, model=model,
            scored=scored, teacher_answer=teacher_answer, findings=findings, scored_at=at,
        ).on_conflict_do_nothing())

    async def defer_call(self, observation_id: str, attempts: int, not_before: datetime) -> None:
        await self._run(update(t.online_queue).where(
            t.online_queue.c.observation_id == observation_id).values(
            attempts=attempts, not_before=not_before))

    async def forget_calls(self, queued_before: datetime, now: datetime, limit: int) -> int:
        result = await self.session.execute(_FORGET_CALLS, {"before": queued_before, "now": now, "limit": limit})
        return int(result.scalar_one())


# Oldest first along online_queue_enqueued_at_idx; rows another instance is deleting are skipped.
_FORGET_CALLS = text("""
    with gone as (
        delete from online_queue where observation_id in (
            select observation_id from online_queue
            where enqueued_at < :before and (status = 'done' or not_before <= :now)
            order by enqueued_at
            limit :limit
            for update skip locked)
        returning observation_id
    ), scores as (
        delete from online_scores where observation_id in (select observation_id from gone)
    )
    select count(*) from gone
""")


# Each table along its primary key (run_id first); rows another instance is deleting are skipped.
_FORGET_RUN_DETAILS = text("""
    with finished as (
        select run_id from runs where status = 'done' and completed_at < :before
    ), items as (
        delete from run_items where (run_id, item_id) in (
            select run_id, item_id from run_items where run_id in (select run_id from finished)
            limit :limit for update skip locked)
        returning run_id
    ), answered as (
        delete from answers where (run_id, item_id, role) in (
            select run_id, item_id, role from answers where run_id in (select run_id from finished)
            limit :limit for update skip locked)
        returning run_id
    ), scored as (
        delete from scores where (run_id, item_id, role, scorer) in (
            select run_id, item_id, role, scorer from scores where run_id in (select run_id from finished)
            limit :limit for update skip locked)
        returning run_id
    )
    select run_id, count(*) as n
    from (select run_id from items union all select run_id from answered union all select run_id from scored) gone
    group by run_id
""")


def _record(row: Any, status: str | None = None) -> RunRecord:
    return RunRecord(run_id=row.run_id, status=status or row.status,
                     request=RunRequest.model_validate(row.request), cause=row.cause,
                     requested_at=row.requested_at, completed_at=row.completed_at,
                     outcome=row.outcome, result=row.result, notes=row.notes, lease_token=row.lease_token)


def _answer_row(run_id: str, a: Answer) -> dict[str, Any]:
    usage = a.usage or Usage()
    return {"run_id": run_id, "item_id": a.item_id, "role": a.role, "model": a.model, "text": a.text,
            "tool_calls": a.tool_calls, "latency_ms": a.latency_ms,
            "input_tokens": usage.input_tokens if a.usage else None,
            "output_tokens": usage.output_tokens if a.usage else None,
            "cached_input_tokens": usage.cached_input_tokens if a.usage else None,
            "error": a.error, "attempts": a.attempts}


def _answer(row: Any) -> Answer:
    usage = None
    if row.input_tokens is not None:
        usage = Usage(row.input_tokens, row.output_tokens or 0, row.cached_input_tokens or 0)
    return Answer(item_id=row.item_id, role=row.role, model=row.model, text=row.text,
                  latency_ms=row.latency_ms, usage=usage, error=row.error, attempts=row.attempts,
                  tool_calls=row.tool_calls)

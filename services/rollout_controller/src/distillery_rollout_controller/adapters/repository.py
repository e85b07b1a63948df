"""Where the controller keeps rollouts, decisions, tables and the calls it has seen.

``AbstractRolloutRepository`` is what the service layer uses; ``SqlRolloutRepository``
works inside the unit of work's transaction, ``FakeRolloutRepository`` (in fakes.py) in
memory for unit tests. Every mutation of a route happens after
``route_state(route, lock=True)``: that row lock orders the consumers, the timer and the
commands of every instance.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnElement

from distillery_contracts.rollout import RolloutDecided
from distillery_rollout_controller.adapters import rows
from distillery_rollout_controller.adapters.tables import (
    decisions,
    observations,
    rollout_numbers,
    rollouts,
    route_state,
    traffic,
)
from distillery_rollout_controller.domain.costs import ModelTraffic
from distillery_rollout_controller.domain.observations import Observation, TrafficSample
from distillery_rollout_controller.domain.rollout import LIVE, Rollout, RolloutStatus
from distillery_rollout_controller.domain.routing import RouteState
from distillery_rollout_controller.domain.window import ArmSample


class AbstractRolloutRepository(abc.ABC):
    """The controller's state; see the module docstring for the locking rule."""

    @abc.abstractmethod
    async def route_state(self, route: str, *, lock: bool = False) -> RouteState | None: ...

    @abc.abstractmethod
    async def save_route_state(self, state: RouteState) -> None: ...

    @abc.abstractmethod
    async def next_rollout_id(self) -> str: ...

    @abc.abstractmethod
    async def rollout(self, rollout_id: str) -> Rollout | None: ...

    @abc.abstractmethod
    async def live_rollout(self, route: str) -> Rollout | None:
        """The active or paused rollout of ``route``."""

    @abc.abstractmethod
    async def queued_rollouts(self, route: str) -> list[Rollout]:
        """Queued rollouts of ``route``, oldest first."""

    @abc.abstractmethod
    async def rollout_for_run(self, eval_run_id: str) -> Rollout | None: ...

    @abc.abstractmethod
    async def recent_rollouts(self, route: str, limit: int = 10) -> list[Rollout]:
        """Newest first."""

    @abc.abstractmethod
    async def save_rollout(self, rollout: Rollout) -> None: ...

    @abc.abstractmethod
    async def add_decision(self, decision: RolloutDecided) -> None: ...

    @abc.abstractmethod
    async def decisions(self, rollout_id: str) -> list[RolloutDecided]:
        """Oldest first."""

    @abc.abstractmethod
    async def record_observations(self, items: Sequence[Observation]) -> None:
        """Merge calls into what is known of them (a trace and its score make one call)."""

    @abc.abstractmethod
    async def stage_samples(self, rollout_id: str, stage_index: int) -> dict[str, ArmSample]:
        """Per arm, the calls of one stage of one rollout."""

    @abc.abstractmethod
    async def record_traffic(self, items: Sequence[TrafficSample]) -> None: ...

    @abc.abstractmethod
    async def traffic_since(self, since: datetime) -> list[ModelTraffic]: ...


class SqlRolloutRepository(AbstractRolloutRepository):
    """The repository over the controller's PostgreSQL schema, in the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def route_state(self, route: str, *, lock: bool = False) -> RouteState | None:
        query = select(route_state).where(route_state.c.route == route)
        row = (await self.session.execute(query.with_for_update() if lock else query)).mappings().first()
        return rows.route_state_from(row) if row else None

    async def save_route_state(self, state: RouteState) -> None:
        values = rows.route_state_row(state)
        stmt = pg_insert(route_state).values(values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["route"], set_=values))

    async def next_rollout_id(self) -> str:
        number = await self.session.scalar(rollout_numbers.next_value())
        return f"ro-{number:04d}"

    async def rollout(self, rollout_id: str) -> Rollout | None:
        return await self._one(rollouts.c.rollout_id == rollout_id)

    async def live_rollout(self, route: str) -> Rollout | None:
        return await self._one(and_(rollouts.c.route == route,
                                    rollouts.c.status.in_([s.value for s in LIVE])))

    async def queued_rollouts(self, route: str) -> list[Rollout]:
        query = (select(rollouts).where(rollouts.c.route == route,
                                        rollouts.c.status == RolloutStatus.QUEUED.value)
                 .order_by(rollouts.c.created_at, rollouts.c.rollout_id))
        return [rows.rollout_from(r) for r in (await self.session.execute(query)).mappings()]

    async def rollout_for_run(self, eval_run_id: str) -> Rollout | None:
        return await self._one(rollouts.c.eval_run_id == eval_run_id)

    async def recent_rollouts(self, route: str, limit: int = 10) -> list[Rollout]:
        query = (select(rollouts).where(rollouts.c.route == route)
                 .order_by(rollouts.c.created_at.desc(), rollouts.c.rollout_id.desc()).limit(limit))
        return [rows.rollout_from(r) for r in (await self.session.execute(query)).mappings()]

    async def save_rollout(self, rollout: Rollout) -> None:
        values = rows.rollout_row(rollout)
        stmt = pg_insert(rollouts).values(values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["rollout_id"], set_=values))

    async def add_decision(self, decision: RolloutDecided) -> None:
        stmt = pg_insert(decisions).values(rows.decision_row(decision)).on_conflict_do_nothing()
        await self.session.execute(stmt)

    async def decisions(self, rollout_id: str) -> list[RolloutDecided]:
        query = (select(decisions.c.payload).where(decisions.c.rollout_id == rollout_id)
                 .order_by(decisions.c.decided_at, decisions.c.decision_id))
        return [RolloutDecided.model_validate(p) for p in (await self.session.scalars(query))]

    async def record_observations(self, items: Sequence[Observation]) -> None:
        merged = rows.merge_observations(items)
        if not merged:
            return
        stmt = pg_insert(observations).values([rows.observation_row(o) for o in merged])
        new, old = stmt.excluded, observations.c
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["observation_id"], set_={
            "model": func.coalesce(old.model, new.model),
            "observed_at": func.least(old.observed_at, new.observed_at),
            "latency_ms": func.coalesce(old.latency_ms, new.latency_ms),
            "error": case((and_(old.error.is_(None), new.error.is_(None)), None),
                          else_=func.coalesce(old.error, False) | func.coalesce(new.error, False)),
            "cost_usd": func.coalesce(old.cost_usd, new.cost_usd),
            "hallucinated": func.coalesce(new.hallucinated, old.hallucinated),
            "judge_outcome": func.coalesce(new.judge_outcome, old.judge_outcome),
            "similarity": func.coalesce(new.similarity, old.similarity),
            "scored": old.scored | new.scored,
        }))

    async def stage_samples(self, rollout_id: str, stage_index: int) -> dict[str, ArmSample]:
        query = rows.stage_sample_query(rollout_id, stage_index)
        return {r["arm"]: rows.arm_sample_from(r) for r in (await self.session.execute(query)).mappings()}

    async def record_traffic(self, items: Sequence[TrafficSample]) -> None:
        grouped = rows.traffic_rows(items)
        if not grouped:
            return
        stmt = pg_insert(traffic).values(grouped)
        new, old = stmt.excluded, traffic.c
        await self.session.execute(stmt.on_conflict_do_update(constraint="traffic_pkey", set_={
            "calls": old.calls + new.calls, "priced_calls": old.priced_calls + new.priced_calls,
            "cost_usd": old.cost_usd + new.cost_usd, "input_tokens": old.input_tokens + new.input_tokens,
            "output_tokens": old.output_tokens + new.output_tokens,
            "first_at": func.least(old.first_at, new.first_at),
            "last_at": func.greatest(old.last_at, new.last_at),
        }))

    async def traffic_since(self, since: datetime) -> list[ModelTraffic]:
        query = (select(traffic.c.model, func.sum(traffic.c.calls).label("calls"),
                        func.sum(traffic.c.priced_calls).label("priced_calls"),
                        func.sum(traffic.c.cost_usd).label("cost_usd"),
                        func.sum(traffic.c.input_tokens).label("input_tokens"),
                        func.sum(traffic.c.output_tokens).label("output_tokens"),
                        func.min(traffic.c.first_at).label("first_at"),
                        func.max(traffic.c.last_at).label("last_at"))
                 .where(traffic.c.last_at >= since).group_by(traffic.c.model).order_by(traffic.c.model))
        return [ModelTraffic(model=r["model"], calls=int(r["calls"]), priced_calls=int(r["priced_calls"]),
                             cost_usd=float(r["cost_usd"]), input_tokens=int(r["input_tokens"]),
                             output_tokens=int(r["output_tokens"]), first_at=r["first_at"],
                             last_at=r["last_at"])
                for r in (await self.session.execute(query)).mappings()]

    async def _one(self, condition: ColumnElement[bool]) -> Rollout | None:
        row = (await self.session.execute(select(rollouts).where(condition))).mappings().first()
        return rows.rollout_from(row) if row else None

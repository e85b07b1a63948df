"""Every read of the controller's state, for its HTTP API and the CLI: read models only.

``RolloutViews`` answers over the sessions of the controller's schema: the HTTP API gets
them from the running service, the CLI from :func:`open_views`, which says in one line
what to do when the database is unreachable or not migrated. The ``read_*`` functions
beneath it work over any repository, so unit tests read the fake the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from distillery_contracts.common import GateResult, ModelMetrics
from distillery_contracts.rollout import RolloutDecided
from distillery_contracts.routing import RouteTableUpdated
from distillery_rollout_controller import NAME, SCHEMA
from distillery_rollout_controller.adapters.repository import AbstractRolloutRepository, SqlRolloutRepository
from distillery_rollout_controller.config import ControllerConfig
from distillery_rollout_controller.domain.costs import CostReport, cost_report
from distillery_rollout_controller.domain.rollout import Rollout
from distillery_rollout_controller.domain.routing import weights_of
from distillery_runtime.clock import utc_now
from distillery_runtime.db import open_service_schema

__all__ = ["CostReport", "RolloutView", "RolloutViews", "StatusDocument", "open_views",
           "read_costs", "read_rollout", "read_status"]


class RolloutView(BaseModel):
    """One rollout as an on-call engineer reads it."""

    rollout_id: str
    status: str
    candidate_model: str
    previous_model: str | None
    teacher_model: str
    cycle_id: str | None
    eval_run_id: str | None
    stage_index: int = Field(description="0-based; the CLI shows it 1-based.")
    stages: list[float]
    stage_percent: float
    weights: dict[str, float]
    created_at: datetime
    stage_started_at: datetime | None
    seconds_in_stage: float | None
    min_stage_seconds: float
    min_scored_calls: int
    last_evaluated_at: datetime | None
    gates: list[GateResult]
    arm_metrics: dict[str, ModelMetrics]
    last_decision: RolloutDecided | None
    ended_at: datetime | None
    end_reason: str | None
    decisions: list[RolloutDecided] | None = Field(default=None, description="Only in the detail view.")


class StatusDocument(BaseModel):
    """The route's table, its recent rollouts (newest first) and the cost picture."""

    route: str
    table: RouteTableUpdated | None
    production_model: str | None
    rollouts: list[RolloutView]
    costs: CostReport | None
    generated_at: datetime

    @property
    def live(self) -> RolloutView | None:
        return next((r for r in self.rollouts if r.status in ("active", "paused")), None)


class RolloutViews:
    """The controller's reads, each in its own short session of the controller's schema."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], config: ControllerConfig,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._sessions = sessions
        self.config = config
        self._clock = clock

    async def status(self, limit: int = 10, calls_per_day: float | None = None) -> StatusDocument:
        """The route's table, its latest ``limit`` rollouts and the cost picture."""
        async with self._repository() as repo:
            return await read_status(repo, self.config, self._clock(), limit, calls_per_day)

    async def rollout(self, rollout_id: str) -> RolloutView | None:
        """One rollout with every decision it recorded; None when there is no such rollout."""
        async with self._repository() as repo:
            return await read_rollout(repo, self.config, rollout_id, self._clock())

    async def costs(self, calls_per_day: float | None = None) -> CostReport | None:
        """The cost report; None until the route has a table."""
        async with self._repository() as repo:
            return await read_costs(repo, self.config, self._clock(), calls_per_day)

    async def route_table(self, route: str) -> RouteTableUpdated | None:
        """The routing table in force on ``route``, as published; None until it has one."""
        async with self._repository() as repo:
            state = await repo.route_state(route)
        return state.table if state else None

    @asynccontextmanager
    async def _repository(self) -> AsyncIterator[AbstractRolloutRepository]:
        async with self._sessions() as session:
            yield SqlRolloutRepository(session)


@asynccontextmanager
async def open_views(database_url: str, config: ControllerConfig) -> AsyncIterator[RolloutViews]:
    """The views over the controller's schema at ``database_url``, from outside the service."""
    async with open_service_schema(database_url, SCHEMA, NAME) as sessions:
        yield RolloutViews(sessions, config)


async def read_status(repo: AbstractRolloutRepository, config: ControllerConfig, now: datetime,
                      limit: int = 10, calls_per_day: float | None = None) -> StatusDocument:
    """The status document of the configured route as of ``now``."""
    state = await repo.route_state(config.route)
    views = [await _view(repo, config, r, now, with_decisions=False)
             for r in await repo.recent_rollouts(config.route, limit)]
    return StatusDocument(
        route=config.route, table=state.table if state else None,
        production_model=state.production_model if state else None, rollouts=views,
        costs=await read_costs(repo, config, now, calls_per_day) if state else None, generated_at=now,
    )


async def read_rollout(repo: AbstractRolloutRepository, config: ControllerConfig, rollout_id: str,
                       now: datetime) -> RolloutView | None:
    """One rollout with all its decisions, or None."""
    rollout = await repo.rollout(rollout_id)
    return await _view(repo, config, rollout, now, with_decisions=True) if rollout else None


async def read_costs(repo: AbstractRolloutRepository, config: ControllerConfig, now: datetime,
                     calls_per_day: float | None = None) -> CostReport | None:
    """Costs at the weights in force over the look-back window, or None before the first table."""
    state = await repo.route_state(config.route)
    if state is None:
        return None
    traffic = await repo.traffic_since(now - timedelta(days=config.cost_lookback_days))
    models = {arm.name: arm.model for arm in state.table.arms}
    return cost_report(weights_of(state.table), models, traffic, config.prices, config.teacher_model,
                       calls_per_day)


async def _view(repo: AbstractRolloutRepository, config: ControllerConfig, rollout: Rollout,
                now: datetime, *, with_decisions: bool) -> RolloutView:
    plan, policy = config.plan, config.policy
    decisions = await repo.decisions(rollout.rollout_id)
    started = rollout.stage_started_at
    live_or_done = rollout.is_live or rollout.status.value == "completed"
    return RolloutView(
        rollout_id=rollout.rollout_id, status=rollout.status.value,
        candidate_model=rollout.candidate_model, previous_model=rollout.previous_model,
        teacher_model=rollout.teacher_model, cycle_id=rollout.cycle_id, eval_run_id=rollout.eval_run_id,
        stage_index=rollout.stage_index, stages=list(plan.percents),
        stage_percent=plan.percent(rollout.stage_index) if live_or_done else 0.0,
        weights=rollout.weights(plan) if rollout.status.value != "queued" else {},
        created_at=rollout.created_at, stage_started_at=started,
        seconds_in_stage=(now - started).total_seconds() if started and rollout.is_live else None,
        min_stage_seconds=policy.min_stage_seconds, min_scored_calls=policy.min_scored_calls,
        last_evaluated_at=rollout.last_evaluated_at, gates=rollout.last_gates,
        arm_metrics=rollout.last_metrics, last_decision=decisions[-1] if decisions else None,
        ended_at=rollout.ended_at, end_reason=rollout.end_reason,
        decisions=decisions if with_decisions else None,
    )

"""Consumers of the controller's four topics: each records, then lets the use cases act.

Data (traces, online scores) is only recorded here and wakes the evaluation loop, so a
bug or a slow query in the gates can never dead-letter a production trace; offline
verdicts and operator commands act at once, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from distillery_contracts.commands import RolloutCommand
from distillery_contracts.evaluations import CallScored, EvaluationCompleted
from distillery_contracts.traces import TraceCaptured
from distillery_rollout_controller.adapters.repository import AbstractRolloutRepository, SqlRolloutRepository
from distillery_rollout_controller.domain.observations import (
    observation_from_score,
    observation_from_trace,
    traffic_from_trace,
)
from distillery_rollout_controller.services import RolloutController
from distillery_runtime.consumer import Delivery
from distillery_runtime.uow import UnitOfWork

RepositoryFactory = Callable[[UnitOfWork], AbstractRolloutRepository]


def sql_repository(uow: UnitOfWork) -> AbstractRolloutRepository:
    return SqlRolloutRepository(uow.session)


class Handlers:
    """The batch handlers, bound to one controller; ``wake`` nudges the evaluation loop."""

    def __init__(self, controller: RolloutController, repository: RepositoryFactory = sql_repository,
                 wake: Callable[[], None] = lambda: None) -> None:
        self.controller = controller
        self.repository = repository
        self.wake = wake

    async def on_evaluation_completed(self, uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        repo = self.repository(uow)
        for d in deliveries:
            if isinstance(d.event, EvaluationCompleted):
                await self.controller.start_rollout(repo, uow, d.event, cause=d.envelope)

    async def on_call_scored(self, uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        scored = [observation_from_score(d.event) for d in deliveries if isinstance(d.event, CallScored)]
        if scored:
            await self.repository(uow).record_observations(scored)
            self.wake()

    async def on_trace_captured(self, uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        prices = self.controller.config.prices
        traces = [d.event for d in deliveries if isinstance(d.event, TraceCaptured)]
        calls = [o for t in traces if (o := observation_from_trace(t, prices)) is not None]
        traffic = [s for t in traces if (s := traffic_from_trace(t, prices)) is not None]
        repo = self.repository(uow)
        await repo.record_traffic(traffic)
        if calls:
            await repo.record_observations(calls)
            self.wake()

    async def on_rollout_command(self, uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        repo = self.repository(uow)
        for d in deliveries:
            if isinstance(d.event, RolloutCommand):
                await self.controller.apply_command(repo, uow, d.event, cause=d.envelope)

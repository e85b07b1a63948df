"""Consumers of the controller's four topics and its evaluation worker's step: each turns
what arrived into calls of the use cases in services.py.

Data (traces, online scores) is only recorded here and wakes the evaluation worker, so a
bug or a slow query in the gates can never dead-letter a production trace; offline
verdicts and operator commands act at once, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from distillery_contracts.commands import RolloutCommand
from distillery_contracts.evaluations import CallScored, EvaluationCompleted
from distillery_contracts.traces import TraceCaptured
from distillery_rollout_controller.adapters.repository import AbstractRolloutRepository
from distillery_rollout_controller.services import RolloutController
from distillery_runtime.consumer import Delivery
from distillery_runtime.service import ServiceContext
from distillery_runtime.uow import UnitOfWork

RepositoryFactory = Callable[[UnitOfWork], AbstractRolloutRepository]


class Handlers:
    """The batch handlers over one controller and the repository of each unit of work.

    ``wake`` nudges the evaluation worker once recorded calls have committed, so a stage is
    judged soon after its evidence arrives instead of at the end of the interval.
    """

    def __init__(self, controller: RolloutController, repository: RepositoryFactory,
                 wake: Callable[[], None] = lambda: None) -> None:
        self.controller = controller
        self.repository = repository
        self.wake = wake

    async def on_evaluation_completed(self, uow: UnitOfWork,
                                      deliveries: list[Delivery[EvaluationCompleted]]) -> None:
        repo = self.repository(uow)
        for d in deliveries:
            await self.controller.start_rollout(repo, uow, d.event, cause=d.envelope)

    async def on_call_scored(self, uow: UnitOfWork, deliveries: list[Delivery[CallScored]]) -> None:
        if await self.controller.record_scores(self.repository(uow), [d.event for d in deliveries]):
            uow.after_commit(self.wake)

    async def on_trace_captured(self, uow: UnitOfWork, deliveries: list[Delivery[TraceCaptured]]) -> None:
        if await self.controller.record_traces(self.repository(uow), [d.event for d in deliveries]):
            uow.after_commit(self.wake)

    async def on_rollout_command(self, uow: UnitOfWork, deliveries: list[Delivery[RolloutCommand]]) -> None:
        repo = self.repository(uow)
        for d in deliveries:
            await self.controller.apply_command(repo, uow, d.event, cause=d.envelope)


async def evaluate_live_stage(controller: RolloutController, repository: RepositoryFactory,
                              ctx: ServiceContext) -> bool:
    """The evaluation worker's step: judge the live stage (or start a queued rollout) in one
    unit of work. Never more waiting at once: the next round is the interval or a wake-up."""
    async with ctx.new_uow() as uow:
        await controller.evaluate(repository(uow), uow)
        await uow.commit()
    return False

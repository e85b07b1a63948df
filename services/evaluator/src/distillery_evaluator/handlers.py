"""Message handlers: each turns a batch of typed deliveries into calls of services.py.

Evaluations themselves run in background workers (app.py): a run makes hundreds of
model calls, far too long to hold a consumer batch and its transaction open.
"""

from __future__ import annotations

from collections.abc import Callable

from distillery_contracts.commands import RunEvaluation
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.finetune import FinetuneJobChanged
from distillery_contracts.rollout import RolloutDecided
from distillery_contracts.routing import RouteTableUpdated
from distillery_contracts.privacy import EraseCaller
from distillery_contracts.traces import TraceCaptured
from distillery_evaluator import services
from distillery_evaluator.adapters.repository import AbstractEvalRepository
from distillery_evaluator.domain.requests import ModelTarget
from distillery_runtime.consumer import Delivery
from distillery_runtime.erasure import AbstractErasureStore
from distillery_runtime.uow import UnitOfWork


class Handlers:
    """The evaluator's subscriptions; ``repo_for`` gives the store inside a unit of work."""

    def __init__(self, repo_for: Callable[[UnitOfWork], AbstractEvalRepository],
                 teacher: ModelTarget, route: str, sample_rate: float,
                 erasures: Callable[[UnitOfWork], AbstractErasureStore] | None = None) -> None:
        self.repo_for = repo_for
        self.erasures = erasures
        self.teacher = teacher
        self.route = route
        self.sample_rate = sample_rate

    async def on_dataset_built(self, uow: UnitOfWork, deliveries: list[Delivery[DatasetBuilt]]) -> None:
        repo = self.repo_for(uow)
        for d in deliveries:
            await services.remember_dataset(repo, d.event)

    async def on_finetune_job_changed(self, uow: UnitOfWork,
                                      deliveries: list[Delivery[FinetuneJobChanged]]) -> None:
        repo = self.repo_for(uow)
        for d in deliveries:
            await services.evaluate_finetuned_model(repo, d.event, d.envelope, self.teacher, self.route)

    async def on_run_evaluation(self, uow: UnitOfWork, deliveries: list[Delivery[RunEvaluation]]) -> None:
        repo = self.repo_for(uow)
        for d in deliveries:
            await services.request_evaluation(repo, d.event, d.envelope, self.teacher, self.route)

    async def on_route_table_updated(self, uow: UnitOfWork,
                                     deliveries: list[Delivery[RouteTableUpdated]]) -> None:
        repo = self.repo_for(uow)
        for d in deliveries:
            await services.remember_route(repo, d.event)

    async def on_rollout_decided(self, uow: UnitOfWork, deliveries: list[Delivery[RolloutDecided]]) -> None:
        repo = self.repo_for(uow)
        for d in deliveries:
            await services.remember_rollout(repo, d.event)

    async def on_trace_captured(self, uow: UnitOfWork, deliveries: list[Delivery[TraceCaptured]]) -> None:
        """Late scores (TraceScored) on the same topic do not reach here: they change no served answer."""
        await services.queue_live_calls(self.repo_for(uow), [(d.event, d.envelope) for d in deliveries],
                                        self.sample_rate)

    async def on_erase_caller(self, uow: UnitOfWork, deliveries: list[Delivery[EraseCaller]]) -> None:
        assert self.erasures is not None, "the composition root gives the erasure store"
        await services.erase_callers(uow, self.erasures(uow), [d.event for d in deliveries])

"""Message handlers: a dataset becomes a job, a command marks a job, a decision moves a model.

Each turns its typed deliveries into calls of ``services.py``, in the consumer's
transaction; none of them calls the provider (the worker does).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from distillery_contracts.commands import CancelJob
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.rollout import RolloutDecided
from distillery_finetune_controller import services
from distillery_finetune_controller.config import FinetuneSettings
from distillery_finetune_controller.services import JobStoreFactory, ModelStoreFactory
from distillery_runtime.clock import utc_now
from distillery_runtime.consumer import Delivery
from distillery_runtime.uow import UnitOfWork


class Handlers:
    """The controller's batch handlers, bound to its settings and store factories."""

    def __init__(self, settings: FinetuneSettings, jobs_in: JobStoreFactory, registry_in: ModelStoreFactory,
                 now: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.jobs_in = jobs_in
        self.registry_in = registry_in
        self.now = now

    async def on_dataset_built(self, uow: UnitOfWork, deliveries: list[Delivery[DatasetBuilt]]) -> None:
        jobs = self.jobs_in(uow)
        for delivery in deliveries:
            await services.queue_dataset(jobs, self.settings, delivery.event, delivery.envelope, self.now())

    async def on_cancel_job(self, uow: UnitOfWork, deliveries: list[Delivery[CancelJob]]) -> None:
        jobs = self.jobs_in(uow)
        for delivery in deliveries:
            await services.request_cancel(jobs, delivery.event)

    async def on_rollout_decided(self, uow: UnitOfWork, deliveries: list[Delivery[RolloutDecided]]) -> None:
        registry = self.registry_in(uow)
        for delivery in deliveries:
            await services.apply_decision(registry, self.settings, delivery.event)

"""Consumers of the topics the console reads: each hands what arrived to services.py.

One consumer group per topic (as the rollout-controller does), so a replay of one stream
to rebuild the read model neither waits for nor rebalances the others.
"""

from __future__ import annotations

from collections.abc import Callable

from distillery_console import services
from distillery_console.adapters.data_store import AbstractDataStore
from distillery_console.adapters.store import AbstractConsoleStore
from distillery_contracts.commands import RolloutCommand
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.evaluations import EvaluationCompleted, EvaluationItemScored
from distillery_contracts.deadletter import DeadLettered
from distillery_contracts.examples import ExampleAccepted, ExampleRejected
from distillery_contracts.privacy import EraseCaller
from distillery_contracts.finetune import FinetuneJobChanged
from distillery_contracts.rollout import RolloutDecided
from distillery_contracts.routing import RouteTableUpdated
from distillery_runtime.consumer import Delivery
from distillery_runtime.erasure import AbstractErasureStore
from distillery_runtime.uow import UnitOfWork

StoreFactory = Callable[[UnitOfWork], AbstractConsoleStore]
DataStoreFactory = Callable[[UnitOfWork], AbstractDataStore]
ErasureFactory = Callable[[UnitOfWork], AbstractErasureStore]


class Handlers:
    """The batch handlers over the stores of each unit of work."""

    def __init__(self, store: StoreFactory, data: DataStoreFactory, erasure: ErasureFactory) -> None:
        self.store = store
        self.data = data
        self.erasure = erasure

    async def on_route_table_updated(self, uow: UnitOfWork, deliveries: list[Delivery[RouteTableUpdated]]) -> None:
        await services.record_route_tables(self.store(uow), [d.event for d in deliveries])

    async def on_dataset_built(self, uow: UnitOfWork, deliveries: list[Delivery[DatasetBuilt]]) -> None:
        await services.record_datasets(self.store(uow), [d.event for d in deliveries])

    async def on_finetune_job_changed(self, uow: UnitOfWork, deliveries: list[Delivery[FinetuneJobChanged]]) -> None:
        await services.record_job_changes(self.store(uow), [(d.event_id, d.event) for d in deliveries])

    async def on_evaluation_completed(self, uow: UnitOfWork,
                                      deliveries: list[Delivery[EvaluationCompleted]]) -> None:
        await services.record_evaluations(self.store(uow), [d.event for d in deliveries])

    async def on_evaluation_item_scored(self, uow: UnitOfWork,
                                        deliveries: list[Delivery[EvaluationItemScored]]) -> None:
        await services.record_items(self.store(uow), [d.event for d in deliveries])

    async def on_rollout_decided(self, uow: UnitOfWork, deliveries: list[Delivery[RolloutDecided]]) -> None:
        await services.record_decisions(self.store(uow), [d.event for d in deliveries])

    async def on_example_rejected(self, uow: UnitOfWork, deliveries: list[Delivery[ExampleRejected]]) -> None:
        await services.record_rejections(self.store(uow), self.data(uow), [d.event for d in deliveries])

    async def on_example_accepted(self, uow: UnitOfWork, deliveries: list[Delivery[ExampleAccepted]]) -> None:
        await services.record_accepted(self.data(uow), [d.event for d in deliveries])

    async def on_dead_lettered(self, uow: UnitOfWork, deliveries: list[Delivery[DeadLettered]]) -> None:
        await services.record_dead_letters(self.data(uow), [(d.event_id, d.event) for d in deliveries])

    async def on_erase_caller(self, uow: UnitOfWork, deliveries: list[Delivery[EraseCaller]]) -> None:
        await services.erase_callers(uow, self.erasure(uow), [d.event for d in deliveries])

    async def on_rollout_command(self, uow: UnitOfWork, deliveries: list[Delivery[RolloutCommand]]) -> None:
        await services.record_commands(self.store(uow), [(d.envelope.event_type, d.event) for d in deliveries])

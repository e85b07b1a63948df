"""Commands the trace-ingester consumes: ``BackfillRange`` from ``distillery ingest backfill``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from distillery_contracts.commands import BackfillRange
from distillery_contracts.privacy import EraseCaller
from distillery_runtime.consumer import Delivery
from distillery_runtime.erasure import AbstractErasureStore
from distillery_runtime.uow import UnitOfWork
from distillery_trace_ingester.adapters.store import StoreFactory
from distillery_trace_ingester.services import erase_callers, record_backfills


class Handlers:
    """The batch handlers, with the store factory and the projects this ingester captures."""

    def __init__(self, store: StoreFactory, project_ids: Sequence[str],
                 erasures: Callable[[UnitOfWork], AbstractErasureStore] | None = None) -> None:
        self.store = store
        self.project_ids = list(project_ids)
        self.erasures = erasures

    async def on_backfill_range(self, uow: UnitOfWork, deliveries: list[Delivery[BackfillRange]]) -> None:
        """Record the requested backfills; the capture workers work through them."""
        await record_backfills(self.store(uow), [d.event for d in deliveries], self.project_ids)

    async def on_erase_caller(self, uow: UnitOfWork, deliveries: list[Delivery[EraseCaller]]) -> None:
        """Forget the callers' sessions in the record of what was published."""
        assert self.erasures is not None, "the composition root gives the erasure store"
        await erase_callers(uow, self.erasures(uow), [d.event for d in deliveries])

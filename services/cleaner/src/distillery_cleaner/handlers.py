"""Handlers: ``traces.raw`` batches in, verdicts out through the outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from distillery_contracts.examples import ExampleAccepted
from distillery_contracts.registry import EXAMPLES_ACCEPTED, EXAMPLES_REJECTED
from distillery_contracts.traces import TraceCaptured, TraceScored
from distillery_cleaner.adapters.repository import AbstractCleanerRepository
from distillery_cleaner.adapters.sql import SqlCleanerRepository
from distillery_cleaner.cleaning import clean_batch, key_of
from distillery_cleaner.domain.screen import Cleaner
from distillery_cleaner.metrics import count_verdicts
from distillery_runtime.consumer import BatchHandler, Delivery
from distillery_runtime.uow import UnitOfWork


def sql_repository(uow: UnitOfWork) -> AbstractCleanerRepository:
    return SqlCleanerRepository(uow.session)


def trace_handler(cleaner: Cleaner,
                  repository: Callable[[UnitOfWork], AbstractCleanerRepository] = sql_repository) -> BatchHandler:
    """The batch handler of ``traces.raw`` for one cleaner version and configuration.

    ``repository`` gives the store inside the batch's unit of work (tests pass a fake).
    """

    async def on_traces_raw(uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        captured = [d for d in deliveries if isinstance(d.event, TraceCaptured)]
        scored = [d for d in deliveries if isinstance(d.event, TraceScored)]
        verdicts = await clean_batch(cleaner, repository(uow), [d.event for d in captured],
                                     [d.event for d in scored], datetime.now(UTC))
        causes = {key_of(d.event): d.envelope for d in captured}
        late_causes = {key_of(d.event): d.envelope for d in scored}
        for verdict in verdicts:
            cause = (late_causes if verdict.retraction else causes)[verdict.source]
            topic = EXAMPLES_ACCEPTED if isinstance(verdict.event, ExampleAccepted) else EXAMPLES_REJECTED
            uow.emit(topic, verdict.event, cause=cause)
        count_verdicts(verdicts, cleaner.config_hash)

    return on_traces_raw

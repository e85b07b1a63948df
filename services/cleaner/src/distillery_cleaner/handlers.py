"""The consumer of ``traces.raw``: typed deliveries in, one use-case call out."""

from __future__ import annotations

from collections.abc import Callable

from distillery_contracts.privacy import EraseCaller
from distillery_contracts.traces import TraceCaptured, TraceScored
from distillery_cleaner.domain.screen import Cleaner
from distillery_cleaner.services import RepositoryFactory, ScreenedAhead, clean_and_publish, erase_callers
from distillery_runtime.consumer import BatchHandler, Delivery, Prepare, of_type
from distillery_runtime.erasure import AbstractErasureStore
from distillery_runtime.uow import UnitOfWork


def trace_handler(cleaner: Cleaner, repository: RepositoryFactory,
                  ahead: ScreenedAhead | None = None) -> BatchHandler[TraceCaptured | TraceScored]:
    """The batch handler of ``traces.raw`` for one cleaner version and configuration.

    Generations and late scores of one batch are cleaned in one call, so a score read in
    the same batch as its generation applies to it (see ``services.py``). With ``ahead``,
    what :func:`screen_ahead` screened is taken from it.
    """

    async def on_traces_raw(uow: UnitOfWork, deliveries: list[Delivery[TraceCaptured | TraceScored]]) -> None:
        await clean_and_publish(uow, repository(uow), cleaner,
                                [(d.event, d.envelope) for d in of_type(deliveries, TraceCaptured)],
                                [(d.event, d.envelope) for d in of_type(deliveries, TraceScored)], ahead)

    return on_traces_raw


def screen_ahead(ahead: ScreenedAhead) -> Prepare[TraceCaptured | TraceScored]:
    """The ``prepare`` step of ``traces.raw``: its generations screened before the transaction."""

    async def screen_traces_raw(deliveries: list[Delivery[TraceCaptured | TraceScored]]) -> None:
        await ahead.screen([(d.event, d.envelope) for d in of_type(deliveries, TraceCaptured)])

    return screen_traces_raw


def erasure_handler(store: Callable[[UnitOfWork], AbstractErasureStore]) -> BatchHandler[EraseCaller]:
    """The handler of erasure commands."""

    async def on_erase_caller(uow: UnitOfWork, deliveries: list[Delivery[EraseCaller]]) -> None:
        await erase_callers(uow, store(uow), [d.event for d in deliveries])

    return on_erase_caller

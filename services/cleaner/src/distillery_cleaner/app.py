"""The cleaner service: ``traces.raw`` → ``examples.accepted`` / ``examples.rejected``."""

from __future__ import annotations

import asyncio
import gc
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from distillery_contracts.registry import TRACES_RAW, get_topic
from distillery_contracts.traces import TraceCaptured, TraceScored
import distillery_cleaner
from distillery_cleaner import __version__
from distillery_cleaner.adapters.repository import AbstractCleanerRepository, IndexedRows, SqlCleanerRepository
from distillery_cleaner.config import CleanerSettings, load_cleaner_settings
from distillery_cleaner.domain.screen import Cleaner
from distillery_cleaner.adapters.erasure_store import SqlErasureStore
from distillery_cleaner.adapters.pii_processes import PiiProcesses
from distillery_cleaner.handlers import erasure_handler, screen_ahead, trace_handler
from distillery_cleaner.services import (RepositoryFactory, ScreenedAhead, forget_old_indexed_examples,
                                        forget_old_late_scores, register_configuration)
from distillery_cleaner.views import running_configuration
from distillery_runtime.consumer import Subscription
from distillery_runtime.erasure import AbstractErasureStore, erasure_subscription
from distillery_runtime.logs import get_logger
from distillery_runtime.retention import pruning_worker
from distillery_runtime.service import Job, ServiceContext, ServiceSpec
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork
from distillery_runtime.worker import Worker

log = get_logger(__name__)
NAME = "cleaner"


def sql_repository(uow: UnitOfWork) -> AbstractCleanerRepository:
    return SqlCleanerRepository(uow.session)


def remembering_repository() -> RepositoryFactory:
    """Stores sharing one :class:`IndexedRows`: the cleaning handler's, for as long as the
    service runs against its one database (ranks are that database's)."""
    indexed = IndexedRows()
    return lambda uow: SqlCleanerRepository(uow.session, indexed)


def erasure_store(uow: UnitOfWork) -> AbstractErasureStore:
    return SqlErasureStore(uow.session)


def build(settings: RuntimeSettings) -> ServiceSpec:
    cleaner_settings = load_cleaner_settings()
    config = cleaner_settings.cleaner_config()
    cleaner = Cleaner(config, __version__)
    pii_workers = cleaner_settings.pii_workers(config)
    scope = f"{cleaner.version}-{cleaner.config_hash}"
    group = cleaner_settings.consumer_group or f"distillery.{NAME}.{scope}"
    ahead = ScreenedAhead(cleaner)
    workers = [_pii_processes(cleaner, pii_workers)] if pii_workers else []
    return ServiceSpec.of(
        distillery_cleaner,
        subscriptions=[Subscription[TraceCaptured | TraceScored](
            topic=get_topic(TRACES_RAW), event=(TraceCaptured, TraceScored),
            handler=trace_handler(cleaner, remembering_repository(), ahead), consumer=f"on_traces_raw@{scope}",
            group=group, batch_size=cleaner_settings.batch_size, prepare=screen_ahead(ahead)),
            erasure_subscription(NAME, erasure_handler(erasure_store))],
        background=[_registration(cleaner, sql_repository, group), collect_garbage_less_often,
                    _late_score_retention(cleaner_settings, settings), _index_retention(cleaner_settings, settings),
                    *workers],
        routes=lambda ctx: _routes(cleaner, group),
    )


def _pii_processes(cleaner: Cleaner, processes: int) -> Job:
    """Personal data found in ``processes`` worker processes: started with the service (each loads
    its pipeline), stopped with it."""
    pool = PiiProcesses.serving(cleaner.messages.text.redactor, cleaner.config.pii, processes)

    async def pii_processes(ctx: ServiceContext) -> None:
        try:
            pids = await asyncio.to_thread(pool.start)
            log.info("personal-data worker processes started", processes=processes, pids=pids)
            await ctx.stopping.wait()
        finally:  # stopped, or cancelled while the workers were still loading
            await asyncio.to_thread(pool.close)

    return pii_processes


def _registration(cleaner: Cleaner, repository: RepositoryFactory, group: str) -> Worker:
    """Record the configuration once, retrying through a database outage (the consumers
    report the outage too), then idle until shutdown."""

    async def step(ctx: ServiceContext) -> bool:
        async with ctx.new_uow() as uow:
            await register_configuration(uow, repository(uow), cleaner)
        log.info("cleaner configuration", version=cleaner.version, config_hash=cleaner.config_hash,
                 consumer_group=group)
        return False

    return Worker("register_configuration", step, interval_s=0.5, max_backoff_s=30.0, until_done=True)


def _late_score_retention(cleaner_settings: CleanerSettings, settings: RuntimeSettings) -> Worker:
    retention = timedelta(days=cleaner_settings.late_score_retention_days)

    async def prune(uow: UnitOfWork, limit: int) -> int:
        return await forget_old_late_scores(sql_repository(uow), retention, limit, datetime.now(UTC))

    return pruning_worker("forget_old_late_scores", prune, settings)


def _index_retention(cleaner_settings: CleanerSettings, settings: RuntimeSettings) -> Worker:
    retention = timedelta(days=cleaner_settings.index_retention_days)

    async def prune(uow: UnitOfWork, limit: int) -> int:
        return await forget_old_indexed_examples(sql_repository(uow), retention, limit, datetime.now(UTC))

    return pruning_worker("forget_old_indexed_examples", prune, settings)


async def collect_garbage_less_often(ctx: ServiceContext) -> None:
    """Raise the garbage collector's thresholds while the service runs.

    The cleaner keeps large caches (every distinct message it has cleaned) and allocates
    many short-lived objects per batch. With the default thresholds every full collection
    walks the caches again, which costs more than the cleaning itself; there are few
    reference cycles to reclaim, so collecting rarely is safe.

    The young generation's threshold sits above what one batch holds at its peak (a
    batch of 1,000 generations is some 100,000 objects, all freed by reference counting
    when it is done): at 100,000 every batch set off a collection that walked all of them,
    ~65 us per generation. Collections now come only with real growth (cache entries,
    the odd cycle), so at most about a million objects wait for one.
    """
    before = gc.get_threshold()
    gc.set_threshold(1_000_000, 50, 100)
    try:
        await ctx.stopping.wait()
    finally:
        gc.set_threshold(*before)


def _routes(cleaner: Cleaner, group: str) -> list[BaseRoute]:
    async def show_config(_: Request) -> JSONResponse:
        return JSONResponse(asdict(running_configuration(cleaner, group)))

    return [Route("/config", show_config)]

"""The trace-ingester service: Langfuse generations into ``distillery.traces.raw.v1``.

The composition root: the SQL store factory, the ``BackfillRange`` subscription, one
capture ``Worker`` per Langfuse project (a live window and a backfill window per step)
and one that forgets old records hourly, and ``GET /status``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from distillery_contracts.commands import BackfillRange
from distillery_contracts.registry import COMMANDS_INGEST, get_topic
from distillery_runtime.consumer import Subscription
from distillery_runtime.entrypoint import load_settings
from distillery_runtime.erasure import AbstractErasureStore, erasure_subscription
from distillery_runtime.errors import ConfigError
from distillery_runtime.service import ServiceContext, ServiceSpec
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork
from distillery_runtime.worker import Step, Worker
import distillery_trace_ingester
from distillery_trace_ingester.adapters.erasure_store import SqlErasureStore
from distillery_trace_ingester.adapters.langfuse_client import AbstractLangfuseReader, HttpLangfuseReader
from distillery_trace_ingester.adapters.store import StoreFactory, sql_store
from distillery_trace_ingester.config import MIGRATIONS, NAME, SCHEMA, IngesterSettings, LangfuseProject
from distillery_trace_ingester.handlers import Handlers
from distillery_trace_ingester.services import ProjectCapture, capture_step, check_projects, forget_old
from distillery_trace_ingester.views import ingester_status

__all__ = ["MIGRATIONS", "NAME", "SCHEMA", "build", "http_reader"]

ReaderFactory = Callable[[LangfuseProject], AbstractLangfuseReader]

MAX_BACKOFF_S = 120.0
FORGET_EVERY_S = 3600.0


def http_reader(config: IngesterSettings) -> ReaderFactory:
    """Readers of the public API, configured from the ingester's settings."""

    def make(project: LangfuseProject) -> AbstractLangfuseReader:
        return HttpLangfuseReader(
            project, page_size=config.page_size, score_page_size=config.score_page_size,
            timeout_s=config.request_timeout_s, max_attempts=config.max_attempts,
            max_retry_after_s=config.max_retry_after_s, expand_metadata=config.expand_metadata)

    return make


def erasure_store(uow: UnitOfWork) -> AbstractErasureStore:
    return SqlErasureStore(uow.session)


def build(settings: RuntimeSettings, config: IngesterSettings | None = None,
          make_reader: ReaderFactory | None = None, store: StoreFactory = sql_store) -> ServiceSpec:
    """The service; ``config`` and ``make_reader`` default to the environment and HTTP."""
    config = config or load_settings(IngesterSettings)
    projects = config.resolved_projects()
    handlers = Handlers(store, [p.project_id for p in projects], erasure_store)
    return ServiceSpec.of(
        distillery_trace_ingester,
        subscriptions=[Subscription(get_topic(COMMANDS_INGEST), BackfillRange, handlers.on_backfill_range),
                       erasure_subscription(NAME, handlers.on_erase_caller)],
        background=[capture_workers(config, projects, make_reader or http_reader(config), store)],
        routes=status_routes,
    )


def capture_workers(config: IngesterSettings, projects: Sequence[LangfuseProject],
                    make_reader: ReaderFactory, store: StoreFactory) -> Callable[[ServiceContext], Coroutine[Any, Any, None]]:
    """Check every project's keys once, then run its workers; the readers close at the end.

    Per project: a ``Worker`` capturing one live and one backfill window per step (wrong
    keys stop the service with one line, Langfuse or database outages are retried with
    backoff) and, with a retention, one forgetting old records hourly.
    """

    async def capture(ctx: ServiceContext) -> None:
        readers = [make_reader(p) for p in projects]
        try:
            await check_projects(readers)
            captures = [
                ProjectCapture(project_id=r.project_id, reader=r, new_uow=ctx.new_uow, store=store,
                               pacing=config.pacing, initial_watermark=config.initial_watermark(),
                               chunk_size=config.chunk_size,
                               score_lookahead=timedelta(seconds=config.score_lookahead_s),
                               excluded_environments=frozenset(config.excluded_environment_list()),
                               retention=timedelta(days=config.retention_days) if config.retention_days else None)
                for r in readers]
            workers = [Worker(f"capture-{c.project_id}", _capture_step(c),
                              interval_s=config.pacing.poll_interval.total_seconds(), max_backoff_s=MAX_BACKOFF_S)
                       for c in captures]
            workers += [Worker(f"forget-old-{c.project_id}", _forget_step(c), interval_s=FORGET_EVERY_S,
                               max_backoff_s=MAX_BACKOFF_S)
                        for c in captures if c.retention is not None]
            async with asyncio.TaskGroup() as group:  # one fatal error stops them all
                for worker in workers:
                    group.create_task(worker.run(ctx), name=worker.name)
        except* ConfigError as fatal:
            raise fatal.exceptions[0] from None  # the one line the service stops with
        finally:
            for reader in readers:
                await reader.close()

    return capture


def _capture_step(project: ProjectCapture) -> Step:
    async def step(ctx: ServiceContext) -> bool:
        return await capture_step(project)

    return step


def _forget_step(project: ProjectCapture) -> Step:
    async def step(ctx: ServiceContext) -> None:
        await forget_old(project)

    return step


def status_routes(ctx: ServiceContext) -> Sequence[BaseRoute]:
    """``GET /status``: watermarks, backfills and imports, for operators and the CLI."""

    async def status(request: Request) -> JSONResponse:
        return JSONResponse((await ingester_status(ctx.sessions)).as_json())

    return [Route("/status", status, methods=["GET"])]

"""The capture job: one loop per Langfuse project, until the service stops.

Each turn reads the window after the watermark and one window of the oldest pending
backfill, so a long backfill never starves live capture. Once the live window reaches
the present the loop waits ``poll_interval``. Langfuse or database outages are logged
and retried with a growing pause; wrong keys or host stop the service with one line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from distillery_runtime.errors import ConfigError
from distillery_runtime.infra import is_infrastructure_error
from distillery_runtime.logs import get_logger
from distillery_runtime.service import ServiceContext
from distillery_runtime.waiting import sleep_unless_stopped
from distillery_trace_ingester.adapters.langfuse_client import (
    AbstractLangfuseReader,
    LangfuseConfigError,
    LangfuseError,
)
from distillery_trace_ingester.adapters.uow import SqlIngesterUnitOfWork
from distillery_trace_ingester.capture import (
    ProjectCapture,
    backfill_next_window,
    capture_next_window,
    forget_old,
)
from distillery_trace_ingester.config import IngesterSettings
from distillery_trace_ingester.domain.windows import is_live
from distillery_trace_ingester.metrics import WATERMARK_LAG

log = get_logger(__name__)

MAX_PAUSE_S = 120.0
FORGET_EVERY_S = 3600.0


async def capture_step(project: ProjectCapture) -> bool:
    """One live window and one backfill window; True when more work is waiting at once."""
    window, counts = await capture_next_window(project)
    if window is not None:
        WATERMARK_LAG.labels(project.project_id).set((project.clock() - window.end).total_seconds())
        report = log.info if counts.published or counts.dead_lettered or counts.late_scores else log.debug
        report("window captured", project=project.project_id, start=window.start.isoformat(),
               end=window.end.isoformat(), **counts.as_dict())
    backfill = await backfill_next_window(project)
    if backfill is not None:
        log.info("backfill progressed", project=project.project_id, backfill=backfill.backfill_id,
                 position=backfill.position.isoformat(), done=backfill.done, **backfill.counts.as_dict())
    behind = window is not None and not is_live(window, project.clock(), project.pacing)
    return behind or (backfill is not None and not backfill.done)


async def capture_project(project: ProjectCapture, stopping: asyncio.Event) -> None:
    """Capture one project until ``stopping`` is set."""
    pause = 0.0
    forgotten_at = 0.0
    while not stopping.is_set():
        try:
            busy = await capture_step(project)
            pause = 0.0
            if time.monotonic() - forgotten_at > FORGET_EVERY_S:
                forgotten = await forget_old(project)
                forgotten_at = time.monotonic()
                if forgotten:
                    log.info("forgot old generations", project=project.project_id, count=forgotten)
        except LangfuseConfigError as exc:
            raise ConfigError(str(exc)) from None
        except Exception as exc:
            if not isinstance(exc, LangfuseError) and not is_infrastructure_error(exc):
                raise
            pause = min(MAX_PAUSE_S, max(1.0, pause * 2))
            log.warning("capture failed; the window is read again", project=project.project_id,
                        error=str(exc) or type(exc).__name__, retry_in_s=pause)
            busy = False
        if not busy:
            await sleep_unless_stopped(stopping, pause or project.pacing.poll_interval.total_seconds())


async def check_projects(readers: Sequence[AbstractLangfuseReader]) -> None:
    """Fail fast on wrong keys or host; an unreachable Langfuse is only a warning here."""
    for reader in readers:
        try:
            await reader.check_access()
        except LangfuseConfigError as exc:
            raise ConfigError(str(exc)) from None
        except LangfuseError as exc:
            log.warning("langfuse not reachable at start; will keep trying", project=reader.project_id,
                        error=str(exc))


def capture_job(config: IngesterSettings, make_reader: Callable[..., AbstractLangfuseReader]):
    """The background job of the service: every configured project, concurrently."""

    async def capture(ctx: ServiceContext) -> None:
        readers = [make_reader(p) for p in config.resolved_projects()]
        try:
            await check_projects(readers)
            projects = [
                ProjectCapture(project_id=r.project_id, reader=r,
                               new_uow=lambda: SqlIngesterUnitOfWork(ctx.new_uow),
                               pacing=config.pacing, initial_watermark=config.initial_watermark(),
                               chunk_size=config.chunk_size,
                               score_lookahead=timedelta(seconds=config.score_lookahead_s),
                               excluded_environments=frozenset(config.excluded_environment_list()),
                               retention=timedelta(days=config.retention_days) if config.retention_days else None)
                for r in readers
            ]
            await asyncio.gather(*(capture_project(p, ctx.stopping) for p in projects))
        finally:
            for reader in readers:
                await reader.close()

    return capture

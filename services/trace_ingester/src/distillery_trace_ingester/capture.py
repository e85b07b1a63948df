"""Capturing one window of a Langfuse project: continuous polls and backfills alike.

A window is read whole before anything is published, because Langfuse pages newest
first while one call's turns must reach the stream oldest first (they share a key).
Generations already published are dropped while reading, so memory holds only new ones.
They are then published in start-time order, ``chunk_size`` per transaction; the last
transaction sends late scores and records progress (watermark or backfill position).
A crash anywhere repeats the window, and the claims make the repeat publish only
what had not been committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from distillery_trace_ingester.adapters.langfuse_client import AbstractLangfuseReader
from distillery_trace_ingester.adapters.repository import AbstractIngesterRepository
from distillery_trace_ingester.adapters.uow import AbstractIngesterUnitOfWork
from distillery_trace_ingester.domain.mapping import UnmappableObservation
from distillery_trace_ingester.domain.measures import parse_time
from distillery_trace_ingester.domain.records import Backfill, Counts
from distillery_trace_ingester.domain.scores import group_by_observation
from distillery_trace_ingester.domain.windows import (
    Pacing,
    Window,
    backfill_window,
    is_deferred,
    next_window,
)
from distillery_trace_ingester.metrics import GENERATIONS
from distillery_trace_ingester.publishing import observation_key, publish_generations, publish_late_scores

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Progress = Callable[[AbstractIngesterRepository, Counts], Awaitable[None]]


@dataclass
class ProjectCapture:
    """One project's reader, transactions and knobs."""

    project_id: str
    reader: AbstractLangfuseReader
    new_uow: Callable[[], AbstractIngesterUnitOfWork]
    pacing: Pacing
    initial_watermark: datetime
    chunk_size: int = 500
    retention: timedelta | None = None
    score_lookahead: timedelta = timedelta(minutes=30)
    excluded_environments: frozenset[str] = frozenset({"evaluation"})
    """Environments never captured: the evaluator's own calls must not become training data."""
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @property
    def source(self) -> str:
        return f"langfuse:{self.project_id}"


async def capture_window(project: ProjectCapture, window: Window, record_progress: Progress) -> Counts:
    """Publish every unpublished generation of ``window``, then record progress."""
    counts = Counts()
    scores = group_by_observation(
        await project.reader.scores(window.start, window.end + project.score_lookahead))
    fresh = await _unpublished(project, window, counts)
    fresh.sort(key=_start_order)
    for index in range(0, len(fresh), project.chunk_size):
        async with project.new_uow() as uow:
            chunk = fresh[index:index + project.chunk_size]
            counts.add(await publish_generations(uow, project.project_id, chunk, scores,
                                                 source=project.source, now=project.clock()))
            await uow.commit()
    async with project.new_uow() as uow:
        counts.late_scores += await publish_late_scores(uow, project.project_id, scores,
                                                        source=project.source, now=project.clock())
        await record_progress(uow.repo, counts)
        await uow.commit()
    return counts


async def _unpublished(project: ProjectCapture, window: Window, counts: Counts) -> list[dict[str, Any]]:
    fresh: dict[str, dict[str, Any]] = {}
    async for page in project.reader.generations(window.start, window.end):
        counts.pages += 1
        keys = [observation_key(o) for o in page]
        async with project.new_uow() as uow:
            known = await uow.repo.published_ids(project.project_id, keys)
        counts.already_published += sum(1 for k in set(keys) if k in known)
        for key, observation in zip(keys, page, strict=True):
            if key in known or observation.get("environment") in project.excluded_environments:
                continue
            if is_deferred(observation, _start(observation), window):
                counts.deferred += 1
                continue
            fresh[key] = observation
    GENERATIONS.labels(project.project_id, "already_published").inc(counts.already_published)
    GENERATIONS.labels(project.project_id, "deferred").inc(counts.deferred)
    return list(fresh.values())


def _start(observation: dict[str, Any]) -> datetime:
    try:
        return parse_time(observation.get("startTime"), "startTime") or _EPOCH
    except UnmappableObservation:
        return _EPOCH  # sorted first; the mapping dead-letters it with the reason


def _start_order(observation: dict[str, Any]) -> tuple[datetime, str]:
    return _start(observation), observation_key(observation)


async def capture_next_window(project: ProjectCapture) -> tuple[Window | None, Counts]:
    """Continuous capture: read the window after the watermark, then advance it."""
    async with project.new_uow() as uow:
        watermark = await uow.repo.watermark(project.project_id) or project.initial_watermark
    window = next_window(watermark, project.clock(), project.pacing)
    if window is None:
        return None, Counts()

    async def advance(repo: AbstractIngesterRepository, counts: Counts) -> None:
        await repo.advance_watermark(project.project_id, window.end)

    return window, await capture_window(project, window, advance)


async def backfill_next_window(project: ProjectCapture) -> Backfill | None:
    """Advance the project's oldest unfinished backfill by one window; None when there is none."""
    async with project.new_uow() as uow:
        backfill = await uow.repo.next_backfill(project.project_id)
    if backfill is None:
        return None
    window = backfill_window(backfill.position, backfill.to_time, project.clock(), project.pacing)
    if window is None:
        backfill.done = True
        async with project.new_uow() as uow:
            await uow.repo.save_backfill(backfill)
            await uow.commit()
        return backfill

    async def advance(repo: AbstractIngesterRepository, counts: Counts) -> None:
        backfill.position = window.end
        backfill.done = window.end >= backfill.to_time
        backfill.counts.add(counts)
        await repo.save_backfill(backfill)

    await capture_window(project, window, advance)
    return backfill


async def forget_old(project: ProjectCapture) -> int:
    """Forget generations older than the retention behind the watermark; how many."""
    if project.retention is None:
        return 0
    async with project.new_uow() as uow:
        watermark = await uow.repo.watermark(project.project_id)
        if watermark is None:
            return 0
        forgotten = await uow.repo.forget(project.project_id, watermark - project.retention)
        await uow.commit()
    return forgotten

"""The trace-ingester's use cases: capture, backfills and imports of Langfuse generations.

Every use case takes units of work and the store factory, injected by app.py (or by the
CLI, or by a test with the fakes), and emits through the unit of work's outbox.

Publishing. A generation is claimed in the ``published`` table in the same transaction
as its outbox row, so it reaches the stream once whoever reads it (live capture, a
backfill, an import) and however often it is read; the same holds for each score id.

Capturing a window. A window is read whole before anything is published, because
Langfuse pages newest first while one call's turns must reach the stream oldest first
(they share a key). Generations already published are dropped while reading, so memory
holds only new ones. They are then published in start-time order, ``chunk_size`` per
transaction; the last transaction sends late scores and records progress (watermark or
backfill position). A crash anywhere repeats the window, and the claims make the repeat
publish only what had not been committed.

The offline-export API (``read_records``, ``read_line``, ``BadLine``, ``RepairedLine``,
``observation_to_trace``, ``UnmappableObservation``, ``group_by_observation``) is what the
CLI (``distillery clean``) uses to read a Langfuse export without a running service; its names stay here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from distillery_contracts.base import Event, stable_hash
from distillery_contracts.commands import BackfillRange
from distillery_contracts.common import Score
from distillery_contracts.deadletter import DeadLettered
from distillery_contracts.privacy import EraseCaller
from distillery_contracts.registry import TRACES_RAW, get_topic
from distillery_contracts.traces import TraceCaptured, TraceScored
from distillery_runtime import erasure
from distillery_runtime.erasure import AbstractErasureStore
from distillery_runtime.errors import ConfigError, PermanentError, TransientError
from distillery_runtime.logs import get_logger
from distillery_runtime.sizes import EventTooLarge
from distillery_runtime.text import read_lines, scrub
from distillery_runtime.uow import UnitOfWork
from distillery_trace_ingester.adapters.langfuse_client import (
    AbstractLangfuseReader,
    LangfuseConfigError,
    LangfuseError,
)
from distillery_trace_ingester.adapters.standalone import open_standalone
from distillery_trace_ingester.adapters.store import AbstractIngesterStore, StoreFactory
from distillery_trace_ingester.domain.export_rows import BadLine, RepairedLine, read_line, read_records
from distillery_trace_ingester.domain.mapping import UnmappableObservation, observation_to_trace
from distillery_trace_ingester.domain.measures import parse_time
from distillery_trace_ingester.domain.records import Backfill, Claim, Counts, ImportRun, Outcome
from distillery_trace_ingester.domain.scores import group_by_observation, score_from_langfuse
from distillery_trace_ingester.domain.windows import (
    Pacing,
    Window,
    backfill_window,
    is_deferred,
    is_live,
    next_window,
)
from distillery_trace_ingester.metrics import GENERATIONS, LATE_SCORES, UNREADABLE_SCORES, WATERMARK_LAG

__all__ = [
    # The offline-export API the CLI uses (distillery_cli.clean): keep these names here.
    "BadLine",
    "RepairedLine",
    "UnmappableObservation",
    "group_by_observation",
    "observation_to_trace",
    "read_line",
    "read_records",
    # The use cases.
    "ImportReport",
    "ProjectCapture",
    "backfill_next_window",
    "capture_next_window",
    "capture_step",
    "check_projects",
    "forget_old",
    "import_export",
    "publish_generations",
    "publish_late_scores",
    "record_backfills",
    "run_import",
]

log = get_logger(__name__)

TRACES_DLQ = get_topic(TRACES_RAW).dlq
MAX_REPORTED_ERRORS = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


# --- publishing: shared by capture, backfills and imports ---------------------------------

def observation_key(observation: dict[str, Any]) -> str:
    """The observation id; a content hash for a record that lacks one (so it is claimed once)."""
    key = observation.get("id")
    if isinstance(key, str) and key:
        return key
    return "sha256:" + stable_hash(json.dumps(observation, sort_keys=True, default=str))


def dead_letter(record: Any, reason: str, source: str, now: datetime, *,
                key: str | None = None) -> DeadLettered:
    """A Langfuse record the ingester cannot map, kept whole (its text made safe) for
    inspection and replay."""
    return DeadLettered(
        error_type="UnmappableObservation", error_message=reason, source_topic=source, attempts=1,
        failed_at=now, original_key=key or observation_key(record),
        original_value=scrub(json.dumps(record, ensure_ascii=False, default=str)),
    )


async def publish_generations(uow: UnitOfWork, store: AbstractIngesterStore, project_id: str,
                              observations: Sequence[dict[str, Any]],
                              scores_by_observation: dict[str, list[dict[str, Any]]],
                              *, source: str, now: datetime) -> Counts:
    """Emit each unclaimed generation (with its known scores) or its dead letter.

    A generation whose event the unit of work refuses is dead-lettered instead, and its
    claim says so (its late scores then go nowhere): one record never fails the window.
    """
    unique = {observation_key(o): o for o in observations}
    outcomes = [_outcome(key, obs, scores_by_observation.get(key, []), project_id, source, now)
                for key, obs in unique.items()]
    claimed = await store.claim(project_id, [claim for claim, _ in outcomes])
    counts = Counts()
    sent_scores: list[tuple[str, str]] = []
    refused: list[str] = []
    for claim, event in outcomes:
        key = claim.observation_id
        if key not in claimed:
            counts.already_published += 1
            continue
        if isinstance(event, TraceCaptured):
            failure = emit_or_say_why(uow, TRACES_RAW, event)
            if failure is None:
                counts.published += 1
                sent_scores += [(key, s.score_id) for s in event.scores]
                continue
            refused.append(key)
            event = dead_letter(unique[key], failure, source, now, key=key)
        emit_dead_letter(uow, event)
        counts.dead_lettered += 1
        log.warning("generation dead-lettered", project=project_id, observation_id=key,
                    reason=event.error_message)
    if refused:
        await store.mark_dead_lettered(project_id, refused)
    await store.claim_scores(project_id, sent_scores)
    for outcome in ("published", "dead_lettered", "already_published"):
        GENERATIONS.labels(project_id, outcome).inc(getattr(counts, outcome))
    return counts


def emit_or_say_why(uow: UnitOfWork, topic: str, event: Event) -> str | None:
    """Queue ``event``; None when queued, else why not: the size refusal's own words (sizes
    only), or the error's type (a serialiser's message may quote the text, which must not
    reach a dead letter or a log)."""
    try:
        uow.emit(topic, event)
    except EventTooLarge as exc:
        return str(exc)
    except Exception as exc:  # one record's event must not fail the whole window
        return (f"{type(exc).__name__} while emitting the event: the record is beyond what the "
                "stream carries, or the ingester has a defect; republish it once fixed")
    return None


def emit_dead_letter(uow: UnitOfWork, letter: DeadLettered) -> None:
    """Queue ``letter``; when the record it carries cannot be sent, the letter without it."""
    failure = emit_or_say_why(uow, TRACES_DLQ, letter)
    if failure is not None:
        cause = failure.split(" ", 1)[0]
        uow.emit(TRACES_DLQ, letter.model_copy(update={
            "original_value": "",
            "error_message": f"{letter.error_message}; the record itself could not be kept ({cause})"}))


def _outcome(key: str, observation: dict[str, Any], scores: list[dict[str, Any]], project_id: str,
             source: str, now: datetime) -> tuple[Claim, TraceCaptured | DeadLettered]:
    try:
        trace = observation_to_trace(observation, scores, project_id, now)
    except Exception as exc:  # one odd record must not stop the capture of all the others
        reason = exc.reason if isinstance(exc, UnmappableObservation) else (
            f"unexpected {type(exc).__name__} while mapping: a defect of the ingester; "
            "republish this record once it is fixed")
        session = observation.get("sessionId")
        claim = Claim(key, str(observation.get("traceId") or ""),
                      session if isinstance(session, str) else None, None, Outcome.DEAD_LETTERED)
        return claim, dead_letter(observation, reason, source, now)
    return Claim(key, trace.trace_id, trace.session_id, trace.start_time, Outcome.PUBLISHED), trace


async def publish_late_scores(uow: UnitOfWork, store: AbstractIngesterStore, project_id: str,
                              scores_by_observation: dict[str, list[dict[str, Any]]],
                              *, source: str, now: datetime) -> int:
    """Emit a TraceScored for each published generation that has scores not yet sent.

    A score that cannot be read is dead-lettered once, like an unmappable generation.
    Returns how many scores were sent.
    """
    if not scores_by_observation:
        return 0
    targets = await store.targets(project_id, list(scores_by_observation))
    sent = await store.sent_scores(project_id, list(targets)) if targets else {}
    fresh: dict[str, list[Score]] = {}
    unreadable: dict[tuple[str, str], DeadLettered] = {}
    for observation_id in targets:
        for raw in scores_by_observation[observation_id]:
            score_id = str(raw.get("id"))
            if score_id in sent.get(observation_id, ()):
                continue
            try:
                fresh.setdefault(observation_id, []).append(score_from_langfuse(raw))
            except UnmappableObservation as exc:
                unreadable[(observation_id, score_id)] = dead_letter(raw, exc.reason, f"{source}/scores", now)
    pairs = [(o, s.score_id) for o, scores in fresh.items() for s in scores]
    claimed = await store.claim_scores(project_id, pairs + list(unreadable))
    for pair, letter in unreadable.items():
        if pair in claimed:
            emit_dead_letter(uow, letter)
            UNREADABLE_SCORES.labels(project_id).inc()
    total = 0
    for observation_id, scores in fresh.items():
        mine = sorted((s for s in scores if (observation_id, s.score_id) in claimed),
                      key=lambda s: (s.timestamp, s.score_id))
        if not mine:
            continue
        target = targets[observation_id]
        failure = emit_or_say_why(uow, TRACES_RAW, TraceScored(
            project_id=project_id, observation_id=observation_id, trace_id=target.trace_id,
            session_id=target.session_id, scores=mine))
        if failure is None:
            total += len(mine)
            continue
        ids = {s.score_id for s in mine}
        raws = [raw for raw in scores_by_observation[observation_id] if str(raw.get("id")) in ids]
        emit_dead_letter(uow, dead_letter(raws, failure, f"{source}/scores", now, key=observation_id))
        UNREADABLE_SCORES.labels(project_id).inc(len(mine))
    LATE_SCORES.labels(project_id).inc(total)
    return total


# --- capture: live windows, backfills, forgetting ------------------------------------------

Progress = Callable[[AbstractIngesterStore, Counts], Awaitable[None]]


@dataclass
class ProjectCapture:
    """One project's reader, transactions, store and knobs."""

    project_id: str
    reader: AbstractLangfuseReader
    new_uow: Callable[[], UnitOfWork]
    store: StoreFactory
    pacing: Pacing
    initial_watermark: datetime
    chunk_size: int = 500
    retention: timedelta | None = None
    score_lookahead: timedelta = timedelta(minutes=30)
    excluded_environments: frozenset[str] = frozenset({"evaluation"})
    """Environments never captured: the evaluator's own calls must not become training data."""
    clock: Callable[[], datetime] = _now

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
            counts.add(await publish_generations(uow, project.store(uow), project.project_id, chunk, scores,
                                                 source=project.source, now=project.clock()))
            await uow.commit()
    async with project.new_uow() as uow:
        store = project.store(uow)
        counts.late_scores += await publish_late_scores(uow, store, project.project_id, scores,
                                                        source=project.source, now=project.clock())
        await record_progress(store, counts)
        await uow.commit()
    return counts


async def _unpublished(project: ProjectCapture, window: Window, counts: Counts) -> list[dict[str, Any]]:
    fresh: dict[str, dict[str, Any]] = {}
    async for page in project.reader.generations(window.start, window.end):
        counts.pages += 1
        keys = [observation_key(o) for o in page]
        async with project.new_uow() as uow:
            known = await project.store(uow).published_ids(project.project_id, keys)
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
        watermark = await project.store(uow).watermark(project.project_id) or project.initial_watermark
    window = next_window(watermark, project.clock(), project.pacing)
    if window is None:
        return None, Counts()
    end = window.end

    async def advance(store: AbstractIngesterStore, counts: Counts) -> None:
        await store.advance_watermark(project.project_id, end)

    return window, await capture_window(project, window, advance)


async def backfill_next_window(project: ProjectCapture) -> Backfill | None:
    """Advance the project's oldest unfinished backfill by one window; None when there is none."""
    async with project.new_uow() as uow:
        backfill = await project.store(uow).next_backfill(project.project_id)
    if backfill is None:
        return None
    window = backfill_window(backfill.position, backfill.to_time, project.clock(), project.pacing)
    if window is None:
        backfill.done = True
        async with project.new_uow() as uow:
            await project.store(uow).save_backfill(backfill)
            await uow.commit()
        return backfill
    found, end = backfill, window.end

    async def advance(store: AbstractIngesterStore, counts: Counts) -> None:
        found.position = end
        found.done = end >= found.to_time
        found.counts.add(counts)
        await store.save_backfill(found)

    await capture_window(project, window, advance)
    return backfill


async def capture_step(project: ProjectCapture) -> bool:
    """One live window and one backfill window; True when more work is waiting at once.

    A long backfill so never starves live capture. Wrong keys or host raise ConfigError
    (the service stops with one line); a Langfuse outage raises TransientError (retried).
    """
    try:
        window, counts = await capture_next_window(project)
        if window is not None:
            WATERMARK_LAG.labels(project.project_id).set((project.clock() - window.end).total_seconds())
            report = log.info if counts.published or counts.dead_lettered or counts.late_scores else log.debug
            report("window captured", project=project.project_id, start=window.start.isoformat(),
                   end=window.end.isoformat(), **counts.as_dict())
        backfill = await backfill_next_window(project)
    except LangfuseConfigError as exc:
        raise ConfigError(str(exc)) from None
    except LangfuseError as exc:
        raise TransientError(f"langfuse project {project.project_id}: {exc}; the window is read again") from exc
    if backfill is not None:
        log.info("backfill progressed", project=project.project_id, backfill=backfill.backfill_id,
                 position=backfill.position.isoformat(), done=backfill.done, **backfill.counts.as_dict())
    behind = window is not None and not is_live(window, project.clock(), project.pacing)
    return behind or (backfill is not None and not backfill.done)


async def forget_old(project: ProjectCapture) -> int:
    """Forget generations older than the retention behind the watermark; how many."""
    if project.retention is None:
        return 0
    async with project.new_uow() as uow:
        store = project.store(uow)
        watermark = await store.watermark(project.project_id)
        if watermark is None:
            return 0
        forgotten = await store.forget(project.project_id, watermark - project.retention)
        await uow.commit()
    if forgotten:
        log.info("forgot old generations", project=project.project_id, count=forgotten)
    return forgotten


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


async def erase_callers(uow: UnitOfWork, store: AbstractErasureStore, commands: Sequence[EraseCaller]) -> None:
    """Forget each caller's session in the record of what was published."""
    await erasure.erase_callers(uow, store, "trace-ingester", commands)


def backfills_for(command: BackfillRange, project_ids: Sequence[str]) -> list[Backfill]:
    """One backfill per project the command names (all configured ones when it names none)."""
    targets = [command.project_id] if command.project_id else list(project_ids)
    unknown = [p for p in targets if p not in project_ids]
    if unknown:
        raise PermanentError(
            f"backfill {command.command_id} names project '{unknown[0]}', which this ingester does "
            f"not capture; configured: {', '.join(project_ids)}")
    return [Backfill(backfill_id=f"{command.command_id}:{project}", project_id=project,
                     from_time=command.from_time, to_time=command.to_time, position=command.from_time,
                     requested_by=command.requested_by, requested_at=command.requested_at)
            for project in targets]


async def record_backfills(store: AbstractIngesterStore, commands: Sequence[BackfillRange],
                           project_ids: Sequence[str]) -> None:
    """Record the requested backfills; the capture workers work through them."""
    await store.add_backfills([b for command in commands for b in backfills_for(command, project_ids)])


# --- imports: a Langfuse export (JSONL) into the same stream as live capture ---------------
# Generations are claimed in the same table as live capture, so importing a file twice, or
# a file overlapping what the poller already read, publishes nothing twice. Observations of
# other types (spans, events) are skipped; a line that is not a record is reported with its
# number and the import carries on.

@dataclass
class ImportReport:
    """The run as recorded, the first bad lines with their numbers, and the first lines read
    after their text was repaired."""

    run: ImportRun
    errors: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)


async def import_export(new_uow: Callable[[], UnitOfWork], store: StoreFactory, project_id: str,
                        observation_lines: Iterable[str | bytes], score_lines: Iterable[str | bytes] = (), *,
                        file: str, scores_file: str | None = None, chunk_size: int = 500,
                        clock: Callable[[], datetime] = _now) -> ImportReport:
    """Publish every generation of the export once; then the scores of ones published before."""
    report = ImportReport(ImportRun(run_id=uuid.uuid4().hex, project_id=project_id, file=file,
                                    scores_file=scores_file, started_at=clock()))
    scores = group_by_observation(_records(score_lines, report, "scores file "))
    source = f"langfuse-export:{project_id}"
    chunk: list[dict[str, Any]] = []

    async def flush() -> None:
        async with new_uow() as uow:
            records = store(uow)
            counts = await publish_generations(uow, records, project_id, chunk, scores, source=source, now=clock())
            report.run.counts.add(counts)
            await records.save_import(report.run)
            await uow.commit()
        chunk.clear()

    for record in _records(observation_lines, report, ""):
        if record.get("type") not in (None, "GENERATION"):
            report.run.counts.skipped += 1
            continue
        chunk.append(record)
        if len(chunk) >= chunk_size:
            await flush()
    if chunk:
        await flush()
    async with new_uow() as uow:
        records = store(uow)
        report.run.counts.late_scores += await publish_late_scores(uow, records, project_id, scores,
                                                                   source=source, now=clock())
        report.run.finished_at = clock()
        await records.save_import(report.run)
        await uow.commit()
    return report


def _records(lines: Iterable[str | bytes], report: ImportReport, label: str) -> Iterable[dict[str, Any]]:
    def bad_line(exc: BadLine) -> None:
        report.run.bad_lines += 1
        if len(report.errors) < MAX_REPORTED_ERRORS:
            report.errors.append(f"{label}{exc}")

    def repaired(note: RepairedLine) -> None:
        if len(report.repaired) < MAX_REPORTED_ERRORS:
            report.repaired.append(f"{label}{note}")

    return (record for _, record in read_records(lines, bad_line, repaired))


async def run_import(database_url: str, bootstrap: str, project_id: str, file: Path,
                     scores_file: Path | None = None, *,
                     publish_timeout_s: float = 120.0) -> tuple[ImportReport, int]:
    """``distillery ingest import``: import ``file`` from the CLI process, on the ingester's
    tables, then publish its outbox; the report and how many events still wait there."""
    async with open_standalone(database_url, bootstrap) as database:
        with file.open("rb") as observations:  # bytes: a line that is not UTF-8 is one bad line
            scores = scores_file.open("rb") if scores_file else None
            try:
                report = await import_export(
                    database.new_uow, database.store, project_id, read_lines(observations),
                    read_lines(scores) if scores else (),
                    file=str(file), scores_file=str(scores_file) if scores_file else None)
            finally:
                if scores:
                    scores.close()
        return report, await database.publish_outbox(publish_timeout_s)


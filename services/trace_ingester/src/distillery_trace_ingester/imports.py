"""``distillery ingest import``: a Langfuse export (JSONL) into the same stream as live capture.

Generations are claimed in the same ``published`` table as live capture, so importing a
file twice, or a file overlapping what the poller already read, publishes nothing twice.
Observations of other types (spans, events) are skipped; a line that is not a record is
reported with its number and the import carries on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from distillery_trace_ingester.adapters.uow import AbstractIngesterUnitOfWork
from distillery_trace_ingester.domain.export_rows import BadLine, read_line
from distillery_trace_ingester.domain.records import ImportRun
from distillery_trace_ingester.domain.scores import group_by_observation
from distillery_trace_ingester.publishing import publish_generations, publish_late_scores

MAX_REPORTED_ERRORS = 50


@dataclass
class ImportReport:
    """The run as recorded, and the first bad lines with their numbers."""

    run: ImportRun
    errors: list[str] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


async def import_export(new_uow: Callable[[], AbstractIngesterUnitOfWork], project_id: str,
                        observation_lines: Iterable[str], score_lines: Iterable[str] = (), *,
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
            counts = await publish_generations(uow, project_id, chunk, scores, source=source, now=clock())
            report.run.counts.add(counts)
            await uow.repo.save_import(report.run)
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
        report.run.counts.late_scores += await publish_late_scores(uow, project_id, scores, source=source,
                                                                   now=clock())
        report.run.finished_at = clock()
        await uow.repo.save_import(report.run)
        await uow.commit()
    return report


def _records(lines: Iterable[str], report: ImportReport, label: str) -> Iterable[dict[str, Any]]:
    for number, text in enumerate(lines, start=1):
        try:
            record = read_line(text, number)
        except BadLine as exc:
            report.run.bad_lines += 1
            if len(report.errors) < MAX_REPORTED_ERRORS:
                report.errors.append(f"{label}{exc}")
            continue
        if record is not None:
            yield record

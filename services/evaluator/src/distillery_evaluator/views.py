"""What ``distillery eval`` reads: evaluation runs and their verdicts, as read models.

Runs are read from the evaluator's schema (opened with ``open_service_schema``, which says
in one line when the evaluator has not created it yet); a golden set file is read as the
evaluator would read it, so the CLI can say which version it wrote.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from distillery_contracts.commands import RunEvaluation
from distillery_evaluator.adapters.repository import RunRecord, SqlEvalRepository
from distillery_evaluator.adapters.sources import golden_from_file
from distillery_evaluator.domain.requests import run_id_for_command
from distillery_runtime.db import open_service_schema

SCHEMA = "evaluator"


@dataclass(frozen=True)
class RunView:
    """One evaluation run as `distillery eval list/show` prints it.

    ``result`` is the run's EvaluationCompleted as JSON (empty until it finished);
    ``notes`` says what was not evaluated (skipped gates and scorers).
    """

    run_id: str
    status: str
    trigger: str
    candidate_model: str
    teacher_model: str
    requested_at: datetime
    completed_at: datetime | None
    outcome: str | None
    result: dict[str, Any]
    notes: dict[str, Any]


@dataclass(frozen=True)
class GoldenSetView:
    """A golden set file as the evaluator reads it: how many items, and its content version."""

    size: int
    version: str


def _view(record: RunRecord) -> RunView:
    return RunView(run_id=record.run_id, status=record.status, trigger=record.request.trigger,
                   candidate_model=record.request.candidate.model,
                   teacher_model=record.request.teacher.model, requested_at=record.requested_at,
                   completed_at=record.completed_at, outcome=record.outcome,
                   result=dict(record.result or {}), notes=dict(record.notes or {}))


async def latest_runs(database_url: str, limit: int = 20) -> list[RunView]:
    """The latest runs, newest first."""
    async with open_service_schema(database_url, SCHEMA, "evaluator") as sessions, sessions() as session:
        return [_view(r) for r in await SqlEvalRepository(session).list_runs(limit)]


async def run_by_id(database_url: str, run_id: str) -> RunView | None:
    async with open_service_schema(database_url, SCHEMA, "evaluator") as sessions, sessions() as session:
        record = await SqlEvalRepository(session).run(run_id)
    return _view(record) if record else None


def run_id_of(command: RunEvaluation) -> str:
    """The id of the run the evaluator makes of ``command`` (to follow it with `eval show`)."""
    return run_id_for_command(command.command_id)


async def golden_set_file(path: Path) -> GoldenSetView:
    """Read a golden set file; raises EvalSetError naming the first bad line."""
    golden = await asyncio.to_thread(golden_from_file, path)
    return GoldenSetView(size=len(golden), version=golden.version)

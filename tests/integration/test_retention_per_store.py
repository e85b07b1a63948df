"""Retention on a real PostgreSQL for the stores of the README's data map that
tests/integration/test_retention.py and test_example_retention.py do not cover: each inserts
rows just past and just inside the retention its setting states (by default), runs the real
retention code and shows the first gone and the second kept, so a flipped comparison fails.

tests/test_data_map.py checks that every retention setting of the map has such a test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from service_context import service_context, steps_until_done  # noqa: F401 (a fixture)
from db_helpers import connected, fetch_rows

from distillery_cli.discovery import migration_target
from distillery_evaluator import app as evaluator_app
from distillery_evaluator.adapters.repository import SqlEvalRepository
from distillery_evaluator.config import EvaluatorSettings
from distillery_evaluator.domain.evalset import VALIDATION, EvalItem
from distillery_evaluator.domain.requests import ModelTarget, RunRequest
from distillery_evaluator.domain.results import Answer, ItemScore
from distillery_evaluator.report import HALLUCINATED_HEADING
from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.migrations import migrate
from distillery_runtime.service import ServiceContext
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork
from distillery_runtime.worker import Worker
from distillery_trace_ingester.adapters.fakes import FakeLangfuseReader
from distillery_trace_ingester.adapters.store import sql_store
from distillery_trace_ingester.config import IngesterSettings
from distillery_trace_ingester.domain.records import Claim, Outcome
from distillery_trace_ingester.services import ProjectCapture, forget_old

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
DAY = timedelta(days=1)


# The evaluator's finished runs: run_items, answers, scores and the report's examples

def run_request(run_id: str) -> RunRequest:
    return RunRequest(run_id=run_id, trigger="finetune", candidate=ModelTarget(model="ft:student"),
                      teacher=ModelTarget(model="gpt-4.1"))


async def stored_run(ctx: ServiceContext, run_id: str) -> None:
    """A run with two items, their answers and a score, as a run stores them while it runs."""
    async with ctx.new_uow() as uow:
        repo = SqlEvalRepository(uow.session)
        await repo.create_run(run_request(run_id), None)
        await repo.claim_run(datetime.now(UTC) + timedelta(seconds=1), timedelta(minutes=5))
        await repo.save_items(run_id, [EvalItem(f"v-{n}", VALIDATION, [{"role": "user", "content": "my card"}],
                                                [], "noted") for n in (1, 2)])
        await repo.save_answers(run_id, [Answer(f"v-{n}", "candidate", "ft:student", "noted") for n in (1, 2)])
        await repo.save_scores(run_id, [ItemScore("v-1", "candidate", "judge", 1.0, "win", {})])
        await uow.commit()


def report(reports: Path, run_id: str) -> Path:
    path = reports / run_id / "report.md"
    path.parent.mkdir(parents=True)
    path.write_text(f"# Evaluation {run_id}\n\n## Gates\n\n{HALLUCINATED_HEADING} (1)\n\n| v-1 | my card |\n")
    return path


@pytest.mark.parametrize("service_context", ["evaluator"], indirect=True)
async def test_a_finished_runs_items_answers_and_report_examples_go_after_the_run_item_retention(
        service_context: ServiceContext, database_url: str, tmp_path: Path) -> None:
    config = EvaluatorSettings(embedding_enabled=False, reports_dir=tmp_path)
    days = config.run_item_retention_days
    for run_id in ("eval-past", "eval-inside", "eval-running"):
        await stored_run(service_context, run_id)
    past, inside = report(tmp_path, "eval-past"), report(tmp_path, "eval-inside")
    async with connected(database_url) as conn:  # finished just past and just inside; one still running
        await conn.executemany("update evaluator.runs set status = 'done', outcome = 'passed', result = '{}', "
                               "completed_at = $2 where run_id = $1",
                               [("eval-past", NOW - (days + 1) * DAY), ("eval-inside", NOW - (days - 1) * DAY)])
        await conn.execute("update evaluator.runs set started_at = $1, requested_at = $1 "
                           "where run_id = 'eval-running'", NOW - 3 * days * DAY)
    spec = evaluator_app.build(RuntimeSettings(retention_batch_size=2), config)
    [worker] = [w for w in spec.background if isinstance(w, Worker) and w.name == "forget_old_run_details"]

    rounds = await steps_until_done(worker, service_context)

    assert rounds == [True, False]  # 2 items, 2 answers, 1 score: one full batch (2 each), then the rest
    for table in ("run_items", "answers", "scores"):
        rows = await fetch_rows(database_url, f"select distinct run_id from evaluator.{table} order by 1")
        assert [r["run_id"] for r in rows] == ["eval-inside", "eval-running"], table
    assert [r["run_id"] for r in await fetch_rows(database_url, "select run_id from evaluator.runs order by 1")] == [
        "eval-inside", "eval-past", "eval-running"]  # the verdicts stay
    assert "my card" not in past.read_text() and "## Gates" in past.read_text()
    assert "my card" in inside.read_text()


# The trace-ingester's published and sent_scores, behind the watermark

def generation(n: int, started: datetime) -> Claim:
    return Claim(f"obs-{n}", f"trace-{n}", f"call-{n}", started, Outcome.PUBLISHED)


@pytest.mark.parametrize("service_context", ["trace-ingester"], indirect=True)
async def test_generations_started_longer_than_the_ingester_retention_before_the_watermark_are_forgotten(
        service_context: ServiceContext, database_url: str) -> None:
    days = IngesterSettings.model_fields["retention_days"].default
    watermark = NOW - DAY
    async with service_context.new_uow() as uow:
        store = sql_store(uow)
        await store.advance_watermark("clinic", watermark)
        await store.claim("clinic", [generation(1, watermark - (days + 1) * DAY),
                                     generation(2, watermark - (days - 1) * DAY)])
        await store.claim_scores("clinic", [("obs-1", "s-1"), ("obs-2", "s-2")])
        await uow.commit()
    capture = ProjectCapture(project_id="clinic", reader=FakeLangfuseReader("clinic", []),
                             new_uow=service_context.new_uow, store=sql_store, pacing=IngesterSettings().pacing,
                             initial_watermark=watermark, retention=timedelta(days=days))

    assert await forget_old(capture) == 1

    published = await fetch_rows(database_url, "select observation_id, session_id from trace_ingester.published")
    sent = await fetch_rows(database_url, "select observation_id from trace_ingester.sent_scores")
    assert [(r["observation_id"], r["session_id"]) for r in published] == [("obs-2", "call-2")]
    assert [r["observation_id"] for r in sent] == ["obs-2"]

"""Retention on a real PostgreSQL: rows that grow with traffic go once past their retention, in
bounded batches, and the others stay. The inbox of every service (its consumers' rows, by
their topics' retention), the evaluator's queue of live calls and the cleaner's late scores,
each pruned by the worker its service runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from contract_suites import contract_suite
from service_context import service_context, steps_until_done  # noqa: F401 (a fixture)
from db_helpers import connected, fetch_rows
from kafka_helpers import wait_until
from probe_service import build as build_probe

from distillery_cleaner import app as cleaner_app
from distillery_cleaner.adapters.repository import SqlCleanerRepository
from distillery_cli.discovery import migration_target
from distillery_contracts.common import Score
from distillery_contracts.registry import ROUTING_TABLE, TRACES_RAW, all_topic_specs, get_topic
from distillery_contracts.routing import RouteTableUpdated
from distillery_contracts.samples import sample_trace_captured
from distillery_contracts.traces import TraceCaptured
from distillery_evaluator import app as evaluator_app
from distillery_evaluator.adapters.repository import QueuedCall, SqlEvalRepository
from distillery_evaluator.config import EvaluatorSettings
from distillery_runtime.consumer import Subscription
from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.kafka import ensure_topics
from distillery_runtime.migrations import migrate
from distillery_runtime.retention import inbox_pruner
from distillery_runtime.service import ServiceContext, ServiceRunner
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork
from distillery_runtime.worker import Worker

pytestmark = pytest.mark.integration

CLEANER_CONTRACT = contract_suite("cleaner", "cleaner_repository_contract")  # its candidates

NOW = datetime.now(UTC)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def background_worker(background: object, name: str) -> Worker:
    workers = [w for w in background if isinstance(w, Worker) and w.name == name]  # type: ignore[attr-defined]
    assert workers, f"the service runs no {name} worker"
    return workers[0]


# The inbox

async def add_inbox_rows(database_url: str, schema: str, rows: list[tuple[str, str, float]]) -> None:
    """(consumer, event id, age in days) rows, as if applied that long ago."""
    async with connected(database_url) as conn:
        await conn.executemany(f"insert into {schema}.inbox (consumer, event_id, applied_at) values ($1, $2, $3)",
                               [(c, e, days_ago(age)) for c, e, age in rows])


async def inbox(database_url: str, schema: str) -> list[tuple[str, str]]:
    rows = await fetch_rows(database_url, f"select consumer, event_id from {schema}.inbox order by 1, 2")
    return [(r["consumer"], r["event_id"]) for r in rows]


async def on_traces(uow, deliveries) -> None: ...
async def on_routes(uow, deliveries) -> None: ...


@pytest.mark.parametrize("service_context", ["evaluator"], indirect=True)
async def test_inbox_rows_past_their_topics_retention_go_in_batches_and_the_rest_stay(
        service_context: ServiceContext, database_url: str) -> None:
    # traces.raw keeps 30 days, + the 14 days' margin; routing.table keeps the latest for ever.
    await add_inbox_rows(database_url, "evaluator", [
        ("on_traces", "t-old-1", 45), ("on_traces", "t-old-2", 45), ("on_traces", "t-old-3", 50),
        ("on_traces", "t-43-days", 43), ("on_traces", "t-new", 0),
        ("on_routes", "r-400-days", 400),
        ("on_previous_handler", "p-old", 45), ("on_previous_handler", "p-10-days", 10),
    ])
    subscriptions = [Subscription(get_topic(TRACES_RAW), TraceCaptured, on_traces),
                     Subscription(get_topic(ROUTING_TABLE), RouteTableUpdated, on_routes)]
    worker = inbox_pruner(subscriptions, RuntimeSettings(retention_batch_size=2, inbox_retention_margin_days=14))

    assert await steps_until_done(worker, service_context) == [True, True, False]  # 2, 2, then none
    assert await inbox(database_url, "evaluator") == [
        ("on_previous_handler", "p-10-days"), ("on_routes", "r-400-days"),
        ("on_traces", "t-43-days"), ("on_traces", "t-new")]


async def test_a_running_service_prunes_its_inbox_by_itself(broker, database_url: str) -> None:
    await ensure_topics(broker.bootstrap, all_topic_specs())
    settings = RuntimeSettings(kafka_bootstrap=broker.bootstrap, database_url=database_url, outbox_poll_s=0.1)
    spec = build_probe(settings)
    engine = create_engine(database_url, spec.schema)
    await migrate(engine, spec.schema, spec.migrations_dir)
    await engine.dispose()
    await add_inbox_rows(database_url, spec.schema, [("on_trace_captured", "old", 60),
                                                      ("on_trace_captured", "recent", 1)])
    runner = ServiceRunner(spec, settings)
    task = asyncio.create_task(runner.run())
    try:
        kept = await wait_until(lambda: _without(database_url, spec.schema, "old"))
    finally:
        runner.stopping.set()
        await asyncio.wait_for(task, 30)

    assert kept == [("on_trace_captured", "recent")]


async def _without(database_url: str, schema: str, event_id: str) -> list[tuple[str, str]] | None:
    rows = await inbox(database_url, schema)
    return None if any(e == event_id for _, e in rows) else rows


# The evaluator's live calls

def live_call(observation_id: str) -> QueuedCall:
    trace = sample_trace_captured(observation_id=observation_id).model_dump(mode="json")
    return QueuedCall(observation_id, "ro-1", trace, {"event_id": observation_id}, 0)


@pytest.mark.parametrize("service_context", ["evaluator"], indirect=True)
async def test_live_calls_queued_longer_than_the_retention_go_with_their_scores(
        service_context: ServiceContext, database_url: str) -> None:
    async with service_context.new_uow() as uow:
        repo = SqlEvalRepository(uow.session)
        await repo.enqueue_calls([live_call(o) for o in ("old-scored", "old-unscored", "new-scored")])
        later = datetime.now(UTC) + timedelta(seconds=1)  # than the rows' not_before, the transaction's start
        claimed = {c.observation_id: c for c in await repo.claim_calls(5, later, timedelta(seconds=60))}
        for observation_id in ("old-scored", "new-scored"):
            await repo.finish_call(claimed[observation_id], "candidate", "ft:s1", {}, "€90", [], NOW)
        await repo.defer_call("old-unscored", 1, days_ago(7))  # its retries long over
        await uow.commit()
    async with connected(database_url) as conn:
        await conn.execute("update evaluator.online_queue set enqueued_at = $1 where observation_id like 'old-%'",
                           days_ago(8))
    settings = RuntimeSettings(retention_batch_size=10)
    spec = evaluator_app.build(settings, EvaluatorSettings(online_retention_days=7, embedding_enabled=False))

    rounds = await steps_until_done(background_worker(spec.background, "forget_old_calls"), service_context)

    assert rounds == [False]
    for table in ("online_queue", "online_scores"):
        rows = await fetch_rows(database_url, f"select observation_id from evaluator.{table}")
        assert [r["observation_id"] for r in rows] == ["new-scored"], table


# The cleaner's late scores

def flag(score_id: str) -> list[Score]:
    return [Score(score_id=score_id, name="hallucination", value=1.0, data_type="NUMERIC", source="EVAL",
                  timestamp=NOW)]


@pytest.mark.parametrize("service_context", ["cleaner"], indirect=True)
async def test_late_scores_unchanged_for_longer_than_traces_raw_keeps_generations_go(
        service_context: ServiceContext, database_url: str) -> None:
    keys = [("clinic-prod", f"obs-{n}") for n in range(5)]
    async with service_context.new_uow() as uow:
        await SqlCleanerRepository(uow.session).add_late_scores({key: flag(key[1]) for key in keys})
        await uow.commit()
    async with connected(database_url) as conn:  # three from 31 days ago, one from 29, one today
        await conn.executemany("update cleaner.late_scores set updated_at = $2 where observation_id = $1",
                               [("obs-0", days_ago(31)), ("obs-1", days_ago(31)), ("obs-2", days_ago(31)),
                                ("obs-3", days_ago(29))])
    spec = cleaner_app.build(RuntimeSettings(retention_batch_size=2))

    rounds = await steps_until_done(background_worker(spec.background, "forget_old_late_scores"), service_context)

    assert rounds == [True, False]  # a full batch of 2, then the last one
    rows = await fetch_rows(database_url, "select observation_id from cleaner.late_scores order by 1")
    assert [r["observation_id"] for r in rows] == ["obs-3", "obs-4"]


@pytest.mark.parametrize("service_context", ["cleaner"], indirect=True)
async def test_examples_accepted_longer_ago_than_the_index_retention_leave_the_index_with_their_band_keys(
        service_context: ServiceContext, database_url: str) -> None:
    kept = [CLEANER_CONTRACT.candidate(n, f"call-{n}", f"Question {n}: when do you open on day {n}?") for n in range(4)]
    async with service_context.new_uow() as uow:
        await SqlCleanerRepository(uow.session).add_examples(CLEANER_CONTRACT.SCOPE, kept)
        await uow.commit()
    async with connected(database_url) as conn:  # two accepted 121 days ago, one 119, one today
        await conn.executemany("update cleaner.examples set accepted_at = $2 where observation_id = $1",
                               [("obs-0", days_ago(121)), ("obs-1", days_ago(121)), ("obs-2", days_ago(119))])
    spec = cleaner_app.build(RuntimeSettings(retention_batch_size=2))
    bands_before = await fetch_rows(database_url, "select rank from cleaner.example_bands")

    rounds = await steps_until_done(background_worker(spec.background, "forget_old_indexed_examples"), service_context)

    assert rounds == [True, False]  # a full batch of 2, then nothing left
    rows = await fetch_rows(database_url, "select observation_id, rank from cleaner.examples order by 1")
    assert [r["observation_id"] for r in rows] == ["obs-2", "obs-3"]
    bands = await fetch_rows(database_url, "select distinct rank from cleaner.example_bands")
    assert {r["rank"] for r in bands} == {r["rank"] for r in rows} and len(bands_before) > 2 * len(kept)

"""The dataset-builder's example store keeps a caller's (redacted) words no longer than
DISTILLERY_DATASET_EXAMPLE_RETENTION_DAYS, except examples a build in progress has taken."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from db_helpers import connected, fetch_rows

from distillery_cli.discovery import migration_target
from distillery_dataset_builder import app as dataset_app
from distillery_dataset_builder.adapters.example_store import SqlExampleStore
from distillery_dataset_builder.config import DatasetBuilderSettings
from distillery_dataset_builder.domain.records import records_of
from distillery_dataset_builder.samples import synthetic_calls
from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.migrations import migrate
from distillery_runtime.service import ServiceContext
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.tokens import tokenizer_for
from distillery_runtime.uow import UnitOfWork
from distillery_runtime.worker import Worker

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


async def test_examples_stored_longer_than_the_retention_go_in_batches_except_a_builds(database_url, tmp_path):
    schema, migrations = migration_target("dataset-builder")
    engine = create_engine(database_url, schema)
    await migrate(engine, schema, Path(migrations))
    sessions = session_factory(engine)
    ctx = ServiceContext("dataset-builder", RuntimeSettings(), engine, sessions,
                         lambda: UnitOfWork(sessions, "test/1"), broker=None, stopping=asyncio.Event())
    try:
        examples = list(synthetic_calls(5, turns=2))
        async with ctx.new_uow() as uow:
            await SqlExampleStore(uow.session).add(records_of(examples, tokenizer_for("gpt-4o-mini-2024-07-18")))
            await uow.commit()
        ids = [e.example_id for e in examples]
        old, held, recent = ids[:5], ids[5], ids[6:]
        async with connected(database_url) as conn:
            await conn.execute("update dataset_builder.examples set stored_at = $1 where example_id = any($2)",
                               NOW - timedelta(days=31), [*old, held])
            await conn.execute("update dataset_builder.examples set stored_at = $1 where example_id = any($2)",
                               NOW - timedelta(days=29), recent)
            await conn.execute("insert into dataset_builder.datasets (dataset_id, version, cycle_id, status, "
                               "trigger, base_model, epochs, parameters, high_water_seq) values "
                               "('ds-0009', 9, 'c', 'building', 'threshold', 'm', 3, '{}', 0)")
            await conn.execute("insert into dataset_builder.dataset_examples values ('ds-0009', $1, 'train')", held)
        settings = RuntimeSettings(retention_batch_size=2)
        spec = dataset_app.build(settings, DatasetBuilderSettings(example_retention_days=30, schedule="off"),
                                 blobs=None)
        [worker] = [w for w in spec.background if isinstance(w, Worker) and w.name == "forget_old_examples"]

        rounds = [await worker.step(ctx)]
        while rounds[-1]:
            rounds.append(await worker.step(ctx))

        assert rounds == [True, True, False]  # 2 + 2 + 1: bounded batches
        rows = await fetch_rows(database_url, "select example_id from dataset_builder.examples")
        assert {r["example_id"] for r in rows} == {held, *recent}
    finally:
        await engine.dispose()

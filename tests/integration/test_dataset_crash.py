"""A dataset-builder killed mid-build leaves nothing half-published, and its next start recovers."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from db_helpers import connected, service_session
from kafka_helpers import read_topic
from processes import service_env, start_process

from distillery_contracts.registry import DATASETS_BUILT, all_topic_specs
from distillery_dataset_builder.adapters.example_store import SqlExampleStore
from distillery_dataset_builder.app import SCHEMA
from distillery_dataset_builder.domain.records import records_of
from distillery_dataset_builder.samples import synthetic_calls
from distillery_runtime.kafka import ensure_topics
from distillery_runtime.tokens import tokenizer_for

pytestmark = pytest.mark.integration

TOKENIZER = tokenizer_for("gpt-4o-mini-2024-07-18")


def start(broker, database_url: str, home: Path, **extra_env: str) -> subprocess.Popen:
    env = service_env(broker.bootstrap, database_url, home,
                      DISTILLERY_DATASET_BUILD_THRESHOLD="100", DISTILLERY_DATASET_SCHEDULE="off",
                      DISTILLERY_DATASET_CHECK_INTERVAL_S="0.2", DISTILLERY_DATASET_TARGET_SIZE="1000", **extra_env)
    return start_process(["-m", "distillery_dataset_builder"], env, home / "service.log")


async def build_rows(database_url: str) -> list[dict]:
    async with connected(database_url) as conn:
        rows = await conn.fetch(f"select dataset_id, status, attempts from {SCHEMA}.datasets")
        outbox = await conn.fetchval(f"select count(*) from {SCHEMA}.outbox")
        return [{**dict(r), "outbox": outbox} for r in rows]


async def test_a_build_killed_while_writing_shows_nothing_and_the_next_start_publishes_it_once(
        broker, database_url, tmp_path):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    async with service_session(database_url, "dataset-builder") as session:
        await SqlExampleStore(session).add(records_of(list(synthetic_calls(40, turns=5)), TOKENIZER))
        await session.commit()
    root = tmp_path / "datasets"

    killed = start(broker, database_url, tmp_path, DISTILLERY_CRASH_AT="dataset_train_chunk_written")
    assert killed.wait(timeout=90) == 137, (tmp_path / "service.log").read_text()[-3000:]
    assert [p.name for p in root.iterdir()] == [".staging"], "a half-written dataset is visible"
    assert await build_rows(database_url) == [{"dataset_id": "ds-0001", "status": "building", "attempts": 1,
                                               "outbox": 0}]

    restarted = start(broker, database_url, tmp_path)
    try:
        messages = await read_topic(broker.bootstrap, DATASETS_BUILT, expect=1, timeout=90, settle=1.5)
    finally:
        restarted.kill()  # it has done what the test watches; no need to wait for its consumers to join
        restarted.wait(timeout=30)
    assert len(messages) == 1, (tmp_path / "service.log").read_text()[-3000:]
    event = json.loads(messages[0].value)
    assert event["dataset_id"] == "ds-0001" and messages[0].headers["correlation-id"] == "cycle-0001"
    published = root / "ds-0001"
    assert sorted(p.name for p in published.iterdir()) == ["manifest.json", "train.jsonl", "validation.jsonl"]
    assert hashlib.sha256((published / "train.jsonl").read_bytes()).hexdigest() == event["files"]["train"]["sha256"]
    assert await build_rows(database_url) == [{"dataset_id": "ds-0001", "status": "published", "attempts": 2,
                                               "outbox": 0}]
    assert "discarding an interrupted build and running it again" in (tmp_path / "service.log").read_text()

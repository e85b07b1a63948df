"""The replay runbook, end to end: a cleaner bug is fixed, the fixed cleaner reprocesses
``traces.raw`` from the beginning, a new dataset version appears, and no topic or table
holds anything twice. Cleaner and dataset-builder run as separate processes on a real
broker and database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import asyncpg
import pytest
from cleaner_workload import sandbox_traces
from kafka_helpers import read_topic, wait_until


from distillery_contracts.registry import (
    DATASETS_BUILT,
    EXAMPLES_ACCEPTED,
    EXAMPLES_REJECTED,
    TRACES_RAW,
    all_topic_specs,
)
from distillery_runtime.kafka import ensure_topics, publish_events

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

BUGGY = {"bounds": {"max_user_turns": 2}}
"""The bug: calls with more than two caller turns were rejected as too long."""
FIXED: dict = {}


def service_env(broker, database_url: str, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTILLERY_")}
    env.update(DISTILLERY_KAFKA_BOOTSTRAP=broker.bootstrap, DISTILLERY_DATABASE_URL=database_url,
               DISTILLERY_HOME=str(home), DISTILLERY_CONSUMER_BATCH_TIMEOUT_MS="50",
               DISTILLERY_OUTBOX_POLL_S="0.1", **extra)
    return env


def start(module: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", module], env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)


def start_cleaner(broker, database_url: str, home: Path, config: dict, name: str) -> subprocess.Popen:
    path = home / f"{name}.json"
    path.write_text(json.dumps(config))
    env = service_env(broker, database_url, home, DISTILLERY_CLEANER_CONFIG_FILE=str(path))
    return start("distillery_cleaner", env, home / f"{name}.log")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


async def verdicts(bootstrap: str) -> list[dict]:
    out = []
    for topic in (EXAMPLES_ACCEPTED, EXAMPLES_REJECTED):
        for message in await read_topic(bootstrap, topic, timeout=5, settle=0.5):
            body = json.loads(message.value)
            out.append({"topic": topic, "event_id": message.headers["event-id"], **body})
    return out


async def datasets(bootstrap: str) -> list[dict]:
    return [json.loads(m.value) for m in await read_topic(bootstrap, DATASETS_BUILT,
                                                           timeout=3, settle=0.3)]


async def test_a_fixed_cleaner_reprocesses_traces_into_a_new_dataset_version_without_duplicates(
        broker, database_url, tmp_path):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    traces = [trace for trace, _, _ in sandbox_traces(calls=60, seed=23)]
    observations = {t.observation_id for t in traces}
    await publish_events(broker.bootstrap, TRACES_RAW, traces, producer="test/replay")

    builder_env = service_env(broker, database_url, tmp_path, DISTILLERY_DATASET_BUILD_THRESHOLD="1000000",
                              DISTILLERY_DATASET_TARGET_SIZE="1000", DISTILLERY_DATASET_CHECK_INTERVAL_S="1",
                              DISTILLERY_DATASET_SCHEDULE="off")
    builder = start("distillery_dataset_builder", builder_env, tmp_path / "dataset-builder.log")
    buggy = start_cleaner(broker, database_url, tmp_path, BUGGY, "cleaner-buggy")
    fixed = None
    try:
        async def one_verdict_each():
            found = await verdicts(broker.bootstrap)
            return found if len({v["lineage"]["observation_id"] for v in found}) >= len(observations) else None

        first = await wait_until(one_verdict_each, timeout=180, interval=1)
        assert first, (tmp_path / "cleaner-buggy.log").read_text()[-3000:]
        buggy_hash = {v["config_hash"] for v in first}
        assert len(buggy_hash) == 1
        await build_dataset(broker, database_url, tmp_path, first, builder_env, expect=1)
        stop(buggy)

        # The fix ships: the new configuration is a new cleaner scope with its own consumer
        # group, which reads traces.raw from the beginning: the replay.
        fixed = start_cleaner(broker, database_url, tmp_path, FIXED, "cleaner-fixed")

        async def two_versions():
            found = await verdicts(broker.bootstrap)
            return found if len(found) >= 2 * len(observations) else None

        both = await wait_until(two_versions, timeout=180, interval=1)
        assert both, (tmp_path / "cleaner-fixed.log").read_text()[-3000:]
        await build_dataset(broker, database_url, tmp_path, both, builder_env, expect=2)
    finally:
        for process in (buggy, fixed, builder):
            if process is not None:
                stop(process)

    found = await verdicts(broker.bootstrap)
    fixed_hash = {v["config_hash"] for v in found} - buggy_hash
    assert len(fixed_hash) == 1, "the fixed cleaner must judge under one new configuration hash"
    per_version = Counter((v["config_hash"], v["lineage"]["observation_id"]) for v in found)
    assert set(per_version.values()) == {1}, "an observation was judged twice under one version"
    assert len(per_version) == 2 * len(observations)
    event_ids = Counter(v["event_id"] for v in found)
    assert max(event_ids.values()) == 1, "an event was published twice"

    def accepted(config_hash: str) -> int:
        return sum(1 for v in found if v["topic"] == EXAMPLES_ACCEPTED and v["config_hash"] in config_hash)

    (new_hash,) = fixed_hash
    assert accepted(new_hash) > accepted(next(iter(buggy_hash))), "the fix must recover the long calls"

    old_dataset, new_dataset = sorted(await datasets(broker.bootstrap), key=lambda d: d["version"])
    assert new_dataset["dataset_id"] != old_dataset["dataset_id"]
    assert new_dataset["version"] == old_dataset["version"] + 1
    await _assert_dataset_tables_hold_no_duplicates(database_url, new_dataset["dataset_id"], new_hash,
                                                    accepted(new_hash))


async def build_dataset(broker, database_url: str, home: Path, judged: list[dict], env: dict[str, str],
                        expect: int) -> None:
    """Once the dataset-builder has stored every accepted example, ask it for a build, as the
    runbook's last step does (``distillery dataset build``), and wait for the announcement."""
    accepted = sum(1 for v in judged if v["topic"] == EXAMPLES_ACCEPTED)

    async def all_stored():
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetchval("select count(*) from dataset_builder.examples") >= accepted
        finally:
            await conn.close()

    assert await wait_until(all_stored, timeout=120, interval=0.5), (home / "dataset-builder.log").read_text()[-3000:]
    asked = subprocess.run([sys.executable, "-m", "distillery_cli", "dataset", "build", "--target-size", "1000"],
                           env=env, capture_output=True, text=True, timeout=60)
    assert asked.returncode == 0, asked.stdout + asked.stderr

    async def announced():
        return len(await datasets(broker.bootstrap)) >= expect

    assert await wait_until(announced, timeout=120, interval=1), (home / "dataset-builder.log").read_text()[-3000:]


async def _assert_dataset_tables_hold_no_duplicates(database_url: str, dataset_id: str, new_hash: str,
                                                    accepted_new: int) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        hashes = await conn.fetch(
            "select distinct e.config_hash from dataset_builder.dataset_examples d "
            "join dataset_builder.examples e using (example_id) where d.dataset_id = $1", dataset_id)
        assert [r["config_hash"] for r in hashes] == [new_hash], "the new dataset mixes cleaner versions"
        twice = await conn.fetchval(
            "select count(*) from (select e.observation_id from dataset_builder.dataset_examples d "
            "join dataset_builder.examples e using (example_id) where d.dataset_id = $1 "
            "group by e.observation_id having count(*) > 1) t", dataset_id)
        assert twice == 0, "the new dataset holds an observation twice"
        stored = await conn.fetchval(
            "select count(*) from dataset_builder.examples where config_hash = $1", new_hash)
        assert stored == accepted_new, "the example store does not match the accepted events"
    finally:
        await conn.close()

"""Two cleaner instances share the partitions; one is killed mid-stream; every trace still
gets exactly one verdict."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from cleaner_workload import sandbox_traces
from kafka_helpers import read_topic, wait_until


from distillery_contracts.registry import (
    EXAMPLES_ACCEPTED,
    EXAMPLES_REJECTED,
    TRACES_RAW,
    all_topic_specs,
)
from distillery_runtime.kafka import ensure_topics, publish_events

pytestmark = pytest.mark.e2e


def start_cleaner(broker, database_url: str, tmp_path: Path, name: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTILLERY_CLEANER_")}
    env.update(DISTILLERY_KAFKA_BOOTSTRAP=broker.bootstrap, DISTILLERY_DATABASE_URL=database_url,
               DISTILLERY_HOME=str(tmp_path), DISTILLERY_CONSUMER_BATCH_SIZE="20",
               DISTILLERY_CONSUMER_BATCH_TIMEOUT_MS="50", DISTILLERY_OUTBOX_POLL_S="0.1")
    log = (tmp_path / f"{name}.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "distillery_cleaner"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)


async def verdicts_by_observation(bootstrap: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for topic in (EXAMPLES_ACCEPTED, EXAMPLES_REJECTED):
        for message in await read_topic(bootstrap, topic, timeout=5, settle=0.5):
            body = json.loads(message.value)
            found[body["lineage"]["observation_id"]].add(message.headers["event-id"])
    return found


async def test_killing_one_of_two_cleaners_loses_nothing_and_applies_nothing_twice(broker, database_url, tmp_path):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    traces = [trace for trace, _, _ in sandbox_traces(calls=80, seed=11)]
    first = start_cleaner(broker, database_url, tmp_path, "cleaner-a")
    second = start_cleaner(broker, database_url, tmp_path, "cleaner-b")
    try:
        await publish_events(broker.bootstrap, TRACES_RAW, traces[: len(traces) // 2], producer="test/1")

        async def some_verdicts():
            return len(await verdicts_by_observation(broker.bootstrap)) > 20

        assert await wait_until(some_verdicts, timeout=120), (tmp_path / "cleaner-a.log").read_text()[-2000:]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        await publish_events(broker.bootstrap, TRACES_RAW, traces[len(traces) // 2:], producer="test/1")

        async def all_verdicts():
            found = await verdicts_by_observation(broker.bootstrap)
            return found if len(found) >= len({t.observation_id for t in traces}) else None

        found = await wait_until(all_verdicts, timeout=180)
        assert found is not None, (tmp_path / "cleaner-b.log").read_text()[-2000:]
        assert set(found) == {t.observation_id for t in traces}
        twice = {obs: ids for obs, ids in found.items() if len(ids) > 1}
        assert not twice, f"observations with more than one verdict: {list(twice)[:5]}"
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)

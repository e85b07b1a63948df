"""A consumer killed between its database commit and its offset commit applies nothing twice."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from db_helpers import probe_applied
from factories import trace
from kafka_helpers import read_topic, wait_until
from processes import service_env, start_process

from distillery_contracts.registry import EXAMPLES_REJECTED, TRACES_RAW, all_topic_specs
from distillery_runtime.kafka import ensure_topics, publish_events

pytestmark = pytest.mark.integration

PROBE = Path(__file__).parents[1] / "support" / "probe_service.py"


def start_probe(broker, database_url: str, tmp_path: Path, **extra_env: str) -> subprocess.Popen:
    env = service_env(broker.bootstrap, database_url, tmp_path, **extra_env)
    return start_process([str(PROBE)], env, tmp_path / "probe.log")


async def test_killed_between_db_commit_and_offset_commit_applies_each_event_once(broker, database_url, tmp_path):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    events = [trace(n) for n in range(30)]
    await publish_events(broker.bootstrap, TRACES_RAW, events, producer="test/1")

    first = start_probe(broker, database_url, tmp_path, DISTILLERY_CRASH_AT="after_db_commit",
                        DISTILLERY_CRASH_MARKER=str(tmp_path / "crashed"))
    assert first.wait(timeout=60) == 137, (tmp_path / "probe.log").read_text()
    applied_before_restart = await probe_applied(database_url)
    assert applied_before_restart, "the first process should have committed one batch before dying"

    second = start_probe(broker, database_url, tmp_path)
    try:
        counts = await wait_until(
            lambda: _all_applied(database_url, len(events)), timeout=60)
        assert counts is not None and len(counts) == 30
        assert set(counts.values()) == {1}, "an event was applied twice"
        out = await read_topic(broker.bootstrap, EXAMPLES_REJECTED, expect=30, settle=2.0)
        assert len({m.headers["event-id"] for m in out}) == 30
        assert len(out) == 30
    finally:
        second.terminate()
        assert second.wait(timeout=30) == 0, (tmp_path / "probe.log").read_text()[-3000:]


async def _all_applied(database_url: str, n: int):
    counts = await probe_applied(database_url)
    return counts if len(counts) >= n else None

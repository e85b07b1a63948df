"""`distillery replay`: refuses under a live consumer, shows a dry run, moves offsets back."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
from factories import trace
from kafka_helpers import wait_until
from probe_service import build

from distillery_cli.replay import live_members
from distillery_cli.topics import group_lag, partitions
from distillery_contracts.registry import TRACES_RAW, all_topic_specs
from distillery_runtime.kafka import ensure_topics, publish_events
from distillery_runtime.service import ServiceRunner
from distillery_runtime.settings import RuntimeSettings

pytestmark = pytest.mark.integration

DISTILLERY = str(Path(__file__).parents[2] / ".venv" / "bin" / "distillery")
GROUP = "distillery.probe"


def replay(broker, tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTILLERY_")}
    env.update(DISTILLERY_KAFKA_BOOTSTRAP=broker.bootstrap, DISTILLERY_HOME=str(tmp_path), COLUMNS="200")
    return subprocess.run([DISTILLERY, "replay", "--group", GROUP, "--topic", TRACES_RAW, *args],
                          capture_output=True, text=True, env=env, timeout=120)


async def committed_total(bootstrap: str) -> int:
    parts = await partitions(bootstrap, TRACES_RAW)
    lag = await group_lag(bootstrap, GROUP, TRACES_RAW, parts)
    return sum(v or 0 for v in lag.committed.values())


async def test_replay_refuses_while_live_then_rewinds_the_group(broker, database_url, tmp_path):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    await publish_events(broker.bootstrap, TRACES_RAW, [trace(n) for n in range(12)], producer="test/1")
    settings = RuntimeSettings(kafka_bootstrap=broker.bootstrap, database_url=database_url,
                               consumer_batch_timeout_ms=50, outbox_poll_s=0.1)
    runner = ServiceRunner(build(settings), settings)
    task = asyncio.create_task(runner.run())
    assert await wait_until(lambda: _equals(committed_total(broker.bootstrap), 12), timeout=30)

    refused = await asyncio.to_thread(replay, broker, tmp_path, "--to-earliest")
    assert refused.returncode == 2
    assert "live member" in refused.stderr and "stop its service first" in refused.stderr

    runner.stopping.set()
    await asyncio.wait_for(task, 30)
    assert await wait_until(lambda: _no_members(broker.bootstrap), timeout=30)

    dry = await asyncio.to_thread(replay, broker, tmp_path, "--to-earliest", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Dry run: nothing changed." in dry.stdout
    assert await committed_total(broker.bootstrap) == 12

    done = await asyncio.to_thread(replay, broker, tmp_path, "--to-earliest")
    assert done.returncode == 0, done.stderr
    assert await committed_total(broker.bootstrap) == 0


def test_replay_needs_exactly_one_target(broker, tmp_path):
    result = replay(broker, tmp_path)
    assert result.returncode == 2 and "exactly one of --to-earliest" in result.stderr


async def _equals(coro, expected):
    return (await coro) == expected


async def _no_members(bootstrap):
    return not await live_members(bootstrap, GROUP)

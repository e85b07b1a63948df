"""`distillery status` tells where each cycle is, from the topics alone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from distillery_cli.demo.monitor import snapshot
from distillery_contracts.registry import (
    DATASETS_BUILT,
    EVALUATIONS_COMPLETED,
    FINETUNE_JOBS,
    ROLLOUT_DECISIONS,
    ROUTING_TABLE,
    all_topic_specs,
)
from distillery_contracts.samples import (
    sample_dataset_built,
    sample_evaluation_completed,
    sample_finetune_job_changed,
    sample_rollout_decided,
    sample_route_table,
)
from distillery_runtime.kafka import ensure_topics, publish_events

pytestmark = pytest.mark.integration

DISTILLERY = str(Path(__file__).parents[2] / ".venv" / "bin" / "distillery")


async def publish_cycle(bootstrap: str) -> None:
    await ensure_topics(bootstrap, all_topic_specs())
    await publish_events(bootstrap, DATASETS_BUILT, [sample_dataset_built(cycle_id="cycle-0001")], producer="t/1")
    await publish_events(bootstrap, FINETUNE_JOBS, [sample_finetune_job_changed(cycle_id="cycle-0001")], producer="t/1")
    await publish_events(bootstrap, EVALUATIONS_COMPLETED, [sample_evaluation_completed(cycle_id="cycle-0001")],
                         producer="t/1")
    await publish_events(bootstrap, ROLLOUT_DECISIONS, [sample_rollout_decided(cycle_id="cycle-0001")], producer="t/1")
    await publish_events(bootstrap, ROUTING_TABLE, [sample_route_table()], producer="t/1")


async def test_snapshot_follows_a_cycle_through_every_stage(broker):
    await publish_cycle(broker.bootstrap)
    view = await snapshot(broker.bootstrap)
    cycle = view.cycles["cycle-0001"]
    assert cycle.dataset is not None and cycle.job is not None and cycle.evaluation is not None
    assert cycle.decisions and view.routes


async def test_status_prints_cycles_routes_and_no_services(broker, tmp_path):
    await publish_cycle(broker.bootstrap)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTILLERY_")}
    env.update(DISTILLERY_KAFKA_BOOTSTRAP=broker.bootstrap, DISTILLERY_HOME=str(tmp_path), COLUMNS="200")
    result = subprocess.run([DISTILLERY, "status"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "No local services registered" in result.stdout
    assert "cycle-0001" in result.stdout
    assert "voice-agent" in result.stdout or "route" in result.stdout

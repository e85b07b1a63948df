"""Online evaluation over a real broker and database: live calls of a rollout, scored
against what the sandbox's teacher answers for the same input."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest
from kafka_helpers import read_topic, wait_until

from distillery_contracts.registry import (
    EVALUATIONS_ONLINE,
    ROLLOUT_DECISIONS,
    TRACES_RAW,
    all_topic_specs,
)
from distillery_contracts.samples import sample_rollout_decided, sample_trace_captured
from distillery_evaluator.adapters.chat import OpenAIChatClient
from distillery_evaluator.adapters.fakes import FakeEmbedder
from distillery_evaluator.adapters.sources import golden_loader
from distillery_evaluator.app import Wiring, build
from distillery_evaluator.config import EvaluatorSettings
from distillery_runtime.kafka import ensure_topics, publish_events
from distillery_runtime.service import ServiceRunner
from distillery_runtime.settings import RuntimeSettings
from distillery_sandbox.golden import golden_items
from distillery_sandbox.openai import LatencyProfile, SandboxConfig, run_in_thread

pytestmark = pytest.mark.integration


@pytest.fixture
async def online_evaluator(broker, database_url, tmp_path):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    with run_in_thread(SandboxConfig(latency=LatencyProfile(scale=0))) as sandbox:
        settings = RuntimeSettings(kafka_bootstrap=broker.bootstrap, database_url=database_url,
                                   home=tmp_path, consumer_batch_timeout_ms=50, outbox_poll_s=0.1,
                                   shutdown_grace_s=2)
        config = EvaluatorSettings(openai_api_key="sk-sandbox", judge_enabled=False, poll_s=0.1,
                                   online_sample_rate=1.0, retry_backoff_s=0.05)
        wiring = Wiring(models=OpenAIChatClient(api_key="sk-sandbox", base_url=sandbox.openai_base_url),
                        judge=None, embedder=FakeEmbedder(), golden=golden_loader("none"))
        runner = ServiceRunner(build(settings, config, wiring), settings)
        task = asyncio.create_task(runner.run())
        yield runner
        runner.stopping.set()
        await asyncio.wait_for(task, 30)


def live_call(n: int, arm: str, answer: str, rollout: str = "ro-1"):
    skin = next(i for i in golden_items() if i["id"] == "golden-prices-skin_check")
    return sample_trace_captured(
        observation_id=f"obs-live-{n}", trace_id=f"tr-live-{n}", session_id=f"call-{n}",
        model="gpt-4.1" if arm == "teacher" else "ft:gpt-4o-mini-2024-07-18:distillery::abc",
        input_messages=skin["messages"], tools=[], output={"role": "assistant", "content": answer},
        metadata={"arm": arm, "rollout_id": rollout, "stage": 2, "call_id": f"call-{n}"})


async def rollout_known(database_url: str, rollout_id: str) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        return bool(await conn.fetchval(
            "select count(*) from evaluator.rollouts where rollout_id = $1", rollout_id))
    except asyncpg.UndefinedTableError:
        return False
    finally:
        await conn.close()


async def test_live_calls_of_a_rollout_are_scored_and_published(online_evaluator, broker, database_url):
    ended = sample_rollout_decided(rollout_id="ro-old", decision="rolled_back",
                                   weights={"teacher": 100.0})
    await publish_events(broker.bootstrap, ROLLOUT_DECISIONS, [ended], producer="test/1")
    assert await wait_until(lambda: rollout_known(database_url, "ro-old"), timeout=90)
    await publish_events(broker.bootstrap, TRACES_RAW, [
        live_call(1, "candidate", "The skin check is €75. Payment is due at the visit, by card or cash."),
        live_call(2, "teacher", "The skin check is €90. Payment is due at the visit, by card or cash."),
        live_call(3, "candidate", "The skin check is €90.", rollout="ro-old"),
    ], producer="trace-ingester/0.1.0", correlation_id="cycle-0003")

    scored = {json.loads(m.value)["observation_id"]: (json.loads(m.value), m.headers)
              for m in await read_topic(broker.bootstrap, EVALUATIONS_ONLINE, expect=2, timeout=40)}

    assert set(scored) == {"obs-live-1", "obs-live-2"}
    student, headers = scored["obs-live-1"]
    assert student["hallucinated"] is True and student["arm"] == "candidate"
    assert student["stage_index"] == 2 and 0 < student["similarity"] < 1
    assert headers["causation-id"] == "clinic-prod:obs-live-1" and headers["correlation-id"] == "cycle-0003"
    assert headers["event-id"] == "clinic-prod:obs-live-1" and student["project_id"] == "clinic-prod"
    teacher, _ = scored["obs-live-2"]
    assert teacher["hallucinated"] is False and teacher["similarity"] is None

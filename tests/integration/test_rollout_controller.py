"""The rollout-controller over a real broker and PostgreSQL, driven by published calls.

No model is called: the tests publish what the evaluator (CallScored) and the
trace-ingester (TraceCaptured) would publish for the calls of each arm, and watch the
decisions, the routing table on its topic and the controller's HTTP API.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from kafka_helpers import read_topic, wait_until

from typer.testing import CliRunner

from distillery_cli.localstack.procs import free_port
from distillery_cli.rollout import rollout_app
from distillery_contracts.evaluations import CallScored, JudgeOutcome
from distillery_contracts.commands import AdvanceRollout
from distillery_contracts.registry import (
    COMMANDS_ROLLOUT,
    EVALUATIONS_COMPLETED,
    EVALUATIONS_ONLINE,
    ROLLOUT_DECISIONS,
    ROUTING_TABLE,
    TRACES_RAW,
    all_topic_specs,
)
from distillery_contracts.samples import sample_evaluation_completed, sample_trace_captured
from distillery_contracts.traces import TraceCaptured
from distillery_rollout_controller.app import build
from distillery_rollout_controller.config import RolloutSettings
from distillery_router import Router, RoutingTableFollower, TableKeys
from distillery_runtime.kafka import ensure_topics, publish_events
from distillery_runtime.service import ServiceRunner
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.signing import SigningKey, local_keys

pytestmark = pytest.mark.integration

STUDENT = "ft:gpt-4o-mini-2024-07-18:clinic::s1"
CALLS_PER_ARM = 100
EVALUATE_EVERY_S = 1.0
ROLLOUT_ENV = {
    "DISTILLERY_ROLLOUT_MIN_SCORED_CALLS": str(CALLS_PER_ARM), "DISTILLERY_ROLLOUT_MIN_STAGE_DURATION_S": "1",
    "DISTILLERY_ROLLOUT_HALLUCINATION_MARGIN": "0.05", "DISTILLERY_ROLLOUT_ERROR_MARGIN": "0.05",
    "DISTILLERY_ROLLOUT_EVALUATE_INTERVAL_S": str(EVALUATE_EVERY_S), "DISTILLERY_ROLLOUT_ROUTE_CACHE_S": "0",
}


def rollout_settings() -> RolloutSettings:
    return RolloutSettings(**{k.removeprefix("DISTILLERY_ROLLOUT_").lower(): v for k, v in ROLLOUT_ENV.items()})


def calls(stage: int, arm: str, hallucinated_per_100: int = 1, start: int = 0,
          n: int = CALLS_PER_ARM) -> list[CallScored]:
    now = datetime.now(UTC)
    return [CallScored(
        observation_id=f"obs-{stage}-{arm}-{i}", trace_id=f"tr-{stage}-{arm}-{i}", session_id=f"call-{i}",
        rollout_id="ro-0001", stage_index=stage, arm=arm, model=STUDENT if arm == "candidate" else "gpt-4.1",
        hallucinated=i % 100 < hallucinated_per_100, latency_ms=400.0 + i * 37 % 200,
        judge_outcome=(JudgeOutcome.LOSS if i * 7 % 100 < 20 else JudgeOutcome.TIE) if arm == "candidate" else None,
        error=False, scored_at=now) for i in range(start, start + n)]


def traces(scored: list[CallScored]) -> list[TraceCaptured]:
    """What the ingester publishes for the same calls: latency and usage, tagged by the router."""
    start = datetime.now(UTC)
    return [sample_trace_captured(
        observation_id=c.observation_id, trace_id=c.trace_id, session_id=c.session_id, model=c.model,
        start_time=start, end_time=start + timedelta(milliseconds=c.latency_ms), latency_ms=c.latency_ms,
        metadata={"arm": c.arm, "rollout_id": c.rollout_id, "stage": c.stage_index, "call_id": c.session_id})
        for c in scored]


async def publish_stage(bootstrap: str, stage: int, *, candidate_hallucinations: int = 1,
                        with_traces: bool = False, start: int = 0, n: int = CALLS_PER_ARM) -> None:
    scored = (calls(stage, "candidate", candidate_hallucinations, start, n)
              + calls(stage, "teacher", 1, start, n))
    if with_traces:
        await publish_events(bootstrap, TRACES_RAW, traces(scored), producer="trace-ingester/test")
    await publish_events(bootstrap, EVALUATIONS_ONLINE, scored, producer="evaluator/test")


TOKEN = "rollout-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def api(base_url: str, path: str) -> dict:
    async with httpx.AsyncClient(base_url=base_url, timeout=30, headers=AUTH) as client:  # generous: loaded hosts
        response = await client.get(path)
    response.raise_for_status()
    return response.json()


async def rollout_reaches(base_url: str, *, stage: int | None = None, status: str | None = None,
                          timeout: float = 45.0) -> dict:
    async def check() -> dict | None:
        doc = await api(base_url, "/v1/rollouts")
        rollout = next((r for r in doc["rollouts"] if r["rollout_id"] == "ro-0001"), None)
        if rollout and (stage is None or rollout["stage_index"] == stage) and (
                status is None or rollout["status"] == status):
            return rollout
        return None

    found = await wait_until(check, timeout=timeout, interval=0.2)
    assert found, f"ro-0001 did not reach stage={stage} status={status}: {await api(base_url, '/v1/rollouts')}"
    return found


@pytest.fixture
async def controller(broker, database_url, tmp_path):
    """The controller, with the keys of a local stack under ``tmp_path`` (``local_keys(tmp_path)``)."""
    await ensure_topics(broker.bootstrap, all_topic_specs())
    local_keys(tmp_path).ensure()
    settings = RuntimeSettings(kafka_bootstrap=broker.bootstrap, database_url=database_url, home=tmp_path,
                               api_tokens=TOKEN, consumer_batch_timeout_ms=50, outbox_poll_s=0.1, handler_backoff_s=0.05)
    runner = ServiceRunner(build(settings, rollout_settings()), settings)
    task = asyncio.create_task(runner.run())
    base_url = await wait_until(lambda: _listening(runner), timeout=90)
    yield base_url
    runner.stopping.set()
    await asyncio.wait_for(task, 30)


async def _listening(runner: ServiceRunner) -> str | None:
    return await _ready(f"http://127.0.0.1:{runner.http.port}") if runner.http else None


async def _ready(base_url: str) -> str | None:
    """The base URL once the service's consumers have joined their groups."""
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=5, headers=AUTH) as client:
            metrics = (await client.get("/metrics")).text
    except httpx.HTTPError:
        return None
    return base_url if 'distillery_ready{service="rollout-controller"} 1.0' in metrics else None


async def test_good_student_is_walked_through_all_five_stages_to_90_10(controller, broker):
    assert (await api(controller, "/v1/routes/voice-agent"))["arms"][0]["weight"] == 100
    await publish_events(broker.bootstrap, EVALUATIONS_COMPLETED,
                         [sample_evaluation_completed(candidate_model=STUDENT)], producer="evaluator/test")

    for stage in range(5):
        await rollout_reaches(controller, stage=stage)
        await publish_stage(broker.bootstrap, stage, with_traces=stage == 0)
    done = await rollout_reaches(controller, status="completed")

    detail = await api(controller, "/v1/rollouts/ro-0001")
    kinds = [d["decision"] for d in detail["decisions"] if d["decision"] != "held"]
    assert kinds == ["started", "advanced", "advanced", "advanced", "advanced", "completed"]
    for decision in detail["decisions"]:
        if decision["decision"] in ("advanced", "completed"):
            assert decision["gates"] and all(g["passed"] for g in decision["gates"])
            assert decision["arm_metrics"]["candidate"]["n"] == CALLS_PER_ARM
    assert done["weights"] == {"production": 90.0, "teacher": 10.0}
    table = await api(controller, "/v1/routes/voice-agent")
    assert [(a["name"], a["model"], a["weight"]) for a in table["arms"]] == [
        ("production", STUDENT, 90.0), ("teacher", "gpt-4.1", 10.0)]
    on_topic = await read_topic(broker.bootstrap, ROLLOUT_DECISIONS, expect=len(detail["decisions"]))
    assert [m.headers["event-id"] for m in on_topic] == [d["decision_id"] for d in detail["decisions"]]
    versions = [json.loads(m.value)["version"] for m in await read_topic(broker.bootstrap, ROUTING_TABLE, expect=7)]
    assert versions == list(range(1, 8))
    shown = await asyncio.to_thread(CliRunner().invoke, rollout_app, ["status", "--url", controller],
                                    env={"COLUMNS": "200", "DISTILLERY_API_TOKENS": TOKEN})
    assert shown.exit_code == 0 and "ro-0001  completed  stage 5/5 (90%)" in shown.output, shown.output


async def test_student_whose_hallucinations_rise_at_50_percent_is_rolled_back_to_the_teacher(controller, broker,
                                                                                            tmp_path):
    await publish_events(broker.bootstrap, EVALUATIONS_COMPLETED,
                         [sample_evaluation_completed(candidate_model=STUDENT)], producer="evaluator/test")
    for stage in (0, 1):
        await rollout_reaches(controller, stage=stage)
        await publish_stage(broker.bootstrap, stage, with_traces=True)
    await rollout_reaches(controller, stage=2)
    router = Router()
    async with RoutingTableFollower(router, routes=["voice-agent"], base_url=controller, poll_interval=0.2,
                                    table_keys=TableKeys.load(local_keys(tmp_path).table_keys), api_token=TOKEN):
        assert {router.choose("voice-agent", f"call-{i}").name for i in range(1000)} == {"candidate", "teacher"}
        published_at = time.monotonic()
        await publish_stage(broker.bootstrap, 2, candidate_hallucinations=30, with_traces=True)

        rolled_back = await rollout_reaches(controller, status="rolled_back")
        took = time.monotonic() - published_at
        await asyncio.sleep(0.5)  # the follower polls every 0.2 s
        served = {router.choose("voice-agent", f"call-{i}").name for i in range(1000)}

    assert took < 2 * EVALUATE_EVERY_S + 5, f"rollback took {took:.1f} s"
    at_50 = [d for d in (await api(controller, "/v1/rollouts/ro-0001"))["decisions"] if d["stage_index"] == 2]
    assert at_50[-1]["decision"] == "rolled_back"
    assert not [d for d in at_50 if "not yet conclusive" in d["reason"]]  # the first full window decided
    assert served == {"teacher"}
    assert (await api(controller, "/v1/routes/voice-agent"))["arms"] == [
        {"name": "teacher", "model": "gpt-4.1", "provider": "openai", "deployment": None, "weight": 100.0}]
    last = rolled_back["last_decision"]
    assert last["decision"] == "rolled_back" and last["stage_index"] == 2
    assert "hallucination" in last["reason"]
    assert last["arm_metrics"]["candidate"]["hallucination_rate"] == pytest.approx(0.30)
    assert last["arm_metrics"]["candidate"]["latency_p95_ms"] is not None


def start_controller(broker, database_url: str, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, **ROLLOUT_ENV, "DISTILLERY_KAFKA_BOOTSTRAP": broker.bootstrap,
           "DISTILLERY_DATABASE_URL": database_url, "DISTILLERY_HTTP_PORT": str(port),
           "DISTILLERY_HOME": str(log.parent), "DISTILLERY_API_TOKENS": TOKEN,
           "DISTILLERY_CONSUMER_BATCH_TIMEOUT_MS": "50", "DISTILLERY_OUTBOX_POLL_S": "0.1"}
    return subprocess.Popen([sys.executable, "-m", "distillery_rollout_controller"], env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


@pytest.mark.e2e
async def test_controller_killed_mid_stage_restarts_with_the_same_weights_and_every_decision(
        broker, database_url, tmp_path):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    port, log = free_port(), tmp_path / "controller.log"
    base_url = f"http://127.0.0.1:{port}"
    first = start_controller(broker, database_url, port, log)
    try:
        assert await wait_until(lambda: _ready(base_url), timeout=90), log.read_text()[-3000:]
        await publish_events(broker.bootstrap, EVALUATIONS_COMPLETED,
                             [sample_evaluation_completed(candidate_model=STUDENT)], producer="evaluator/test")
        await publish_stage(broker.bootstrap, 0)
        await rollout_reaches(base_url, stage=1)
        await publish_stage(broker.bootstrap, 1, n=CALLS_PER_ARM // 2)  # half a stage's evidence
        before = await wait_until(lambda: _evaluated(base_url, candidate_calls=CALLS_PER_ARM // 2))
        table_before = await api(base_url, "/v1/routes/voice-agent")
        decisions_before = (await api(base_url, "/v1/rollouts/ro-0001"))["decisions"]
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

    second = start_controller(broker, database_url, port, log)
    try:
        # The API and the evaluation loop run while the consumers are still joining their groups.
        restarted_at = datetime.now(UTC)
        after = await wait_until(lambda: _evaluated(base_url, since=restarted_at), timeout=60)
        assert after, log.read_text()[-3000:]
        assert await api(base_url, "/v1/routes/voice-agent") == table_before
        assert after["weights"] == before["weights"] == {"candidate": 25.0, "teacher": 75.0}
        assert after["stage_index"] == 1 and after["stage_started_at"] == before["stage_started_at"]
        assert after["arm_metrics"]["candidate"]["n"] == CALLS_PER_ARM // 2  # the window survived
        assert (await api(base_url, "/v1/rollouts/ro-0001"))["decisions"] == decisions_before
        on_topic = await read_topic(broker.bootstrap, ROLLOUT_DECISIONS, expect=len(decisions_before))
        assert [m.headers["event-id"] for m in on_topic] == [d["decision_id"] for d in decisions_before]
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait(timeout=10)


async def _evaluated(base_url: str, *, candidate_calls: int | None = None,
                     since: datetime | None = None) -> dict | None:
    """ro-0001 once an evaluation saw ``candidate_calls`` calls, or ran after ``since``."""
    try:
        rollout = (await api(base_url, "/v1/rollouts/ro-0001"))
    except httpx.HTTPError:
        return None
    evaluated = rollout["last_evaluated_at"]
    metrics = rollout["arm_metrics"].get("candidate")
    if candidate_calls is not None and (metrics is None or metrics["n"] < candidate_calls):
        return None
    if since is not None and (evaluated is None or datetime.fromisoformat(evaluated) <= since):
        return None
    return rollout


async def test_a_forged_forced_advance_is_dead_lettered_with_the_reason_and_an_operators_is_obeyed(
        controller, broker, tmp_path):
    await publish_events(broker.bootstrap, EVALUATIONS_COMPLETED,
                         [sample_evaluation_completed(candidate_model=STUDENT)], producer="evaluator/test")
    await rollout_reaches(controller, stage=0)
    forged = AdvanceRollout(rollout_id="ro-0001", force=True, reason="trust me", requested_by="local-operator")
    await publish_events(broker.bootstrap, COMMANDS_ROLLOUT, [forged], producer="cli/0.1.0")

    [letter] = await read_topic(broker.bootstrap, f"{COMMANDS_ROLLOUT}.dlq", expect=1, timeout=60)
    assert "unsigned AdvanceRollout: refused" in json.loads(letter.value)["error_message"]
    assert (await api(controller, "/v1/rollouts/ro-0001"))["stage_index"] == 0
    operator = SigningKey.load(local_keys(tmp_path).operator_key)
    signed = operator.sign(forged.model_copy(update={"command_id": "c-signed"}))
    await publish_events(broker.bootstrap, COMMANDS_ROLLOUT, [signed], producer="cli/0.1.0")
    await rollout_reaches(controller, stage=1)
    # The stage's own evaluations may already have held it since: find the decision that moved it.
    [moved] = [d for d in (await api(controller, "/v1/rollouts/ro-0001"))["decisions"] if d["stage_index"] == 1
               and d["decision"] != "held"]
    assert moved["decision"] == "force_advanced"
    assert moved["actor"] == "local-operator"

"""The trace-ingester against the Langfuse sandbox, a real broker and a real PostgreSQL.

The sandbox app runs in a thread of the test process. The volume tests fill it with
compact generations (short chats) so that 25,000 of them stay quick on a small machine;
the other tests use the simulated clinic workload. The benchmark
(tests/bench/bench_ingester.py) measures throughput on the full-size workload.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from distillery_contracts.base import observation_event_id
import uvicorn
from db_helpers import count_rows, fetch_value
from kafka_helpers import read_topic, wait_until
from processes import service_env, start_process
from typer.testing import CliRunner

from distillery_cli.ingest import ingest_app
from distillery_cli.localstack.procs import free_port
from distillery_contracts.registry import TRACES_RAW, all_topic_specs
from distillery_runtime.kafka import ensure_topics
from distillery_runtime.service import ServiceRunner
from distillery_runtime.settings import RuntimeSettings
from distillery_sandbox.langfuse import Faults, LangfuseStore, Project, create_app
from distillery_sandbox.langfuse.records import empty_observation, new_score, with_metrics
from distillery_sandbox.workload import WorkloadConfig, simulate_calls
from distillery_trace_ingester.app import build
from distillery_trace_ingester.config import IngesterSettings, LangfuseProject

pytestmark = pytest.mark.integration

KEYS = ("pk-lf-ingester-test", "sk-lf-ingester-test")


class Sandbox:
    """The sandbox app served by uvicorn in a thread, and direct access to its store."""

    def __init__(self, lag_s: float = 0.0) -> None:
        self.store = LangfuseStore("sandbox-project", lag_seconds=lag_s)
        self.faults = Faults()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app([Project(*KEYS, self.store)], self.faults),
                                                    host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def add_compact(self, count: int, start: datetime, span: timedelta, *, first: int = 0) -> list[str]:
        """``count`` short generations spread over ``span`` from ``start``; their ids."""
        ids = []
        step = span / max(count, 1)
        for n in range(first, first + count):
            begin = start + step * (n - first)
            record = empty_observation(f"gen-{n:06d}", f"call-{n // 5:05d}", self.store.project_id)
            record.update(
                type="GENERATION", name="agent-turn", startTime=begin, endTime=begin + timedelta(milliseconds=700),
                completionStartTime=begin + timedelta(milliseconds=250), sessionId=f"call-{n // 5:05d}",
                userId="caller-1", environment="production", providedModelName="gpt-4.1",
                input=json.dumps([{"role": "system", "content": "You are the clinic's phone assistant."},
                                  {"role": "user", "content": f"Is there a slot on day {n % 28}?"}]),
                output=json.dumps({"role": "assistant", "content": "Yes, at 10:30."}),
                modelParameters={"max_tokens": "256", "temperature": "0.3"},
                usageDetails={"input": 30, "output": 6, "total": 36}, tags=["voice"])
            self.store.put_observation(with_metrics(record))
            ids.append(record["id"])
        return ids

    def add_calls(self, calls: int, start: datetime, seed: int = 3) -> list[str]:
        """Simulated clinic calls; the ids of their generations."""
        simulated = list(simulate_calls(WorkloadConfig(seed=seed, calls=calls, start=start,
                                                       calls_per_hour=3600)))
        self.store.add_calls(simulated)
        return [g.observation_id for call in simulated for g in call.generations]

    def add_score(self, observation_id: str, trace_id: str, score_id: str, value: float) -> None:
        self.store.put_score(new_score(self.store.project_id, score_id=score_id, name="hallucination",
                                       value=value, data_type="NUMERIC", source="EVAL",
                                       timestamp=datetime.now(UTC), environment="production",
                                       trace_id=trace_id, observation_id=observation_id))


@pytest.fixture
def sandbox():
    box = Sandbox()
    yield box
    box.stop()


def ingester_config(sandbox: Sandbox, start: datetime, **overrides) -> IngesterSettings:
    values = dict(projects=[LangfuseProject(project_id="clinic", host=sandbox.url, public_key=KEYS[0],
                                            secret_key=KEYS[1])],
                  start_from=start, poll_interval_s=0.3, overlap_s=120, settle_delay_s=0,
                  max_window_s=600, page_size=1000, chunk_size=1000)
    return IngesterSettings(**{**values, **overrides})


TOKEN = "ingester-test-token"


def runtime_settings(broker, database_url, tmp_path) -> RuntimeSettings:
    return RuntimeSettings(kafka_bootstrap=broker.bootstrap, database_url=database_url, home=tmp_path,
                           outbox_poll_s=0.1, consumer_batch_timeout_ms=50, api_tokens=TOKEN)


async def start_ingester(broker, database_url, tmp_path, config: IngesterSettings):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    settings = runtime_settings(broker, database_url, tmp_path)
    runner = ServiceRunner(build(settings, config), settings)
    return runner, asyncio.create_task(runner.run())


async def stop(runner, task) -> None:
    runner.stopping.set()
    await asyncio.wait_for(task, 60)


async def drained(database_url: str, expected: int) -> bool:
    """At least ``expected`` generations claimed, and every event out of the outbox."""
    claimed = await count_rows(database_url, "trace_ingester.published")
    waiting = await fetch_value(database_url, "select count(*) from trace_ingester.outbox", default=1)
    return claimed >= expected and waiting == 0


def event_ids(observation_ids) -> list[str]:
    """The event ids the ingester gives these observations of the sandbox's project."""
    return sorted(observation_event_id("clinic", o) for o in observation_ids)


def of_type(messages, event_type: str):
    return [m for m in messages if m.headers["event-type"] == event_type]


async def test_25000_generations_over_many_pages_are_each_published_exactly_once(
        sandbox, broker, database_url, tmp_path):
    # On a whole second, so that every 25th generation (0.24 s apart) is too: its start_time then has no
    # fraction in the JSON ("...:18Z" against "...:18.240000Z"), and only a comparison of
    # times, not of texts, finds the turns in order.
    start = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    expected = sandbox.add_compact(25_000, start, timedelta(minutes=100))

    runner, task = await start_ingester(broker, database_url, tmp_path,
                                        ingester_config(sandbox, start - timedelta(minutes=1)))
    try:
        assert await wait_until(lambda: drained(database_url, len(expected)), timeout=180)
    finally:
        await stop(runner, task)

    messages = await read_topic(broker.bootstrap, TRACES_RAW, expect=len(expected), timeout=60, settle=2)
    ids = [m.headers["event-id"] for m in of_type(messages, "TraceCaptured")]
    assert len(messages) == len(ids) == 25_000
    assert sorted(ids) == event_ids(expected)
    by_key = defaultdict(list)
    for m in messages:
        by_key[(m.partition, m.key)].append(datetime.fromisoformat(json.loads(m.value)["start_time"]))
    assert all(starts == sorted(starts) for starts in by_key.values()), "a call's turns out of order"


INGESTER_ENV = {"DISTILLERY_INGESTER_POLL_INTERVAL_S": "0.3", "DISTILLERY_INGESTER_OVERLAP_S": "120",
                "DISTILLERY_INGESTER_SETTLE_DELAY_S": "0", "DISTILLERY_INGESTER_MAX_WINDOW_S": "300",
                "DISTILLERY_INGESTER_CHUNK_SIZE": "250", "DISTILLERY_OUTBOX_POLL_S": "0.1",
                "DISTILLERY_OUTBOX_BATCH_SIZE": "250", "DISTILLERY_SHUTDOWN_GRACE_S": "2"}


@pytest.fixture(scope="module")
def bytecode_cache(tmp_path_factory) -> str:
    """Where ingester processes keep compiled modules: only the first start compiles them."""
    return str(tmp_path_factory.mktemp("pycache"))


def spawn_ingester(sandbox: Sandbox, broker, database_url: str, tmp_path: Path, start: datetime,
                   bytecode_cache: str, **env: str) -> subprocess.Popen:
    project = {"project_id": "clinic", "host": sandbox.url, "public_key": KEYS[0], "secret_key": env.pop(
        "secret_key", KEYS[1])}
    full_env = {**service_env(broker.bootstrap, database_url, tmp_path), **INGESTER_ENV,
                "DISTILLERY_HTTP_PORT": "0", "DISTILLERY_INGESTER_PROJECTS": json.dumps([project]),
                "DISTILLERY_INGESTER_START_FROM": start.isoformat(), "PYTHONPYCACHEPREFIX": bytecode_cache,
                **env}
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    return start_process(["-m", "distillery_trace_ingester"], full_env, tmp_path / "ingester.log")


async def test_killed_at_random_moments_and_restarted_nothing_is_missing_or_published_twice(
        sandbox, broker, database_url, tmp_path, bytecode_cache):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    start = datetime.now(UTC) - timedelta(hours=1)
    expected = sandbox.add_compact(4_000, start, timedelta(minutes=50))
    rng = random.Random(20261128)
    kills = 0
    for target in sorted(rng.sample(range(300, 3_700), 3)):
        proc = spawn_ingester(sandbox, broker, database_url, tmp_path, start - timedelta(minutes=1),
                              bytecode_cache)
        claimed = await wait_until(
            lambda n=target: fetch_value(database_url, f"select count(*) >= {n} from trace_ingester.published",
                                         default=False), timeout=120, interval=0.05)
        time.sleep(rng.uniform(0.0, 0.3))  # somewhere inside a window, a chunk or a relay batch
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        kills += claimed is True
    final = spawn_ingester(sandbox, broker, database_url, tmp_path, start - timedelta(minutes=1), bytecode_cache)
    try:
        assert await wait_until(lambda: drained(database_url, len(expected)), timeout=180)
    finally:
        final.terminate()
        assert final.wait(timeout=30) == 0, (tmp_path / "ingester.log").read_text()[-3000:]
    assert kills == 3

    messages = await read_topic(broker.bootstrap, TRACES_RAW, expect=len(expected), timeout=60, settle=2)
    copies = defaultdict(list)
    for m in of_type(messages, "TraceCaptured"):
        copies[m.headers["event-id"]].append(m)
    assert sorted(copies) == event_ids(expected), "a generation is missing"
    # A kill between the broker's ack and the outbox delete makes the relay send a row again:
    # the same message (same event id, payload and produced-at), which consumers' inboxes absorb.
    # A generation published twice by the ingester would differ in produced-at and ingested_at.
    for event_id, same in copies.items():
        assert len({(m.value, m.headers["produced-at"]) for m in same}) == 1, f"{event_id} published twice"


async def test_generations_that_land_late_inside_the_overlap_are_captured(broker, database_url, tmp_path):
    box = Sandbox(lag_s=3.0)  # every item shows up in the API three seconds after ingestion
    try:
        now = datetime.now(UTC)
        first = box.add_calls(20, now - timedelta(minutes=30))
        await asyncio.sleep(3.5)  # the backlog is visible before the ingester starts
        runner, task = await start_ingester(broker, database_url, tmp_path,
                                            ingester_config(box, now - timedelta(minutes=31)))
        try:
            assert await wait_until(lambda: drained(database_url, len(first)), timeout=30)
            # Calls that started 90 s ago reach the API only now (plus the lag), behind the watermark.
            late = box.add_calls(5, datetime.now(UTC) - timedelta(seconds=90), seed=4)
            assert await wait_until(lambda: drained(database_url, len(first) + len(late)), timeout=30)
        finally:
            await stop(runner, task)
    finally:
        box.stop()
    messages = await read_topic(broker.bootstrap, TRACES_RAW, expect=len(first) + len(late))
    assert sorted(m.headers["event-id"] for m in messages) == event_ids(first + late)


async def test_a_score_that_arrives_after_its_generation_reaches_the_stream_once(
        sandbox, broker, database_url, tmp_path):
    now = datetime.now(UTC)
    ids = sandbox.add_calls(10, now - timedelta(minutes=20))
    runner, task = await start_ingester(broker, database_url, tmp_path,
                                        ingester_config(sandbox, now - timedelta(minutes=21)))
    try:
        assert await wait_until(lambda: drained(database_url, len(ids)), timeout=30)
        target = sandbox.store.observation(ids[3])
        sandbox.add_score(ids[3], target["traceId"], "late-score-1", 1.0)
        scored = await read_topic(broker.bootstrap, TRACES_RAW, expect=len(ids) + 1, settle=1.5)
    finally:
        await stop(runner, task)
    [late] = of_type(scored, "TraceScored")
    body = json.loads(late.value)
    assert (body["observation_id"], [s["score_id"] for s in body["scores"]]) == (ids[3], ["late-score-1"])
    assert late.key == target["sessionId"]
    captured = {m.headers["event-id"]: json.loads(m.value) for m in of_type(scored, "TraceCaptured")}
    assert "late-score-1" not in {s["score_id"] for t in captured.values() for s in t["scores"]}


async def test_rate_limits_server_errors_and_a_malformed_generation_are_each_handled(
        sandbox, broker, database_url, tmp_path):
    now = datetime.now(UTC)
    ids = sandbox.add_calls(40, now - timedelta(minutes=30))
    broken = ids[17]
    sandbox.faults.update({"rate_limit_every": 4, "retry_after_seconds": 1, "server_error_every": 5,
                           "malformed": {broken: "input_not_json"}})
    runner, task = await start_ingester(broker, database_url, tmp_path,
                                        ingester_config(sandbox, now - timedelta(minutes=31), page_size=50))
    try:
        assert await wait_until(lambda: drained(database_url, len(ids)), timeout=60)
    finally:
        await stop(runner, task)

    published = await read_topic(broker.bootstrap, TRACES_RAW, expect=len(ids) - 1)
    assert sorted(m.headers["event-id"] for m in published) == event_ids(set(ids) - {broken})
    [letter] = await read_topic(broker.bootstrap, f"{TRACES_RAW}.dlq", expect=1)
    body = json.loads(letter.value)
    assert body["error_type"] == "UnmappableObservation" and body["source_topic"] == "langfuse:clinic"
    assert body["error_message"].startswith("input looks like JSON but does not parse")
    assert json.loads(body["original_value"])["id"] == broken


async def test_wrong_keys_stop_the_ingester_with_one_line_naming_the_project(
        sandbox, broker, database_url, tmp_path, bytecode_cache):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    proc = spawn_ingester(sandbox, broker, database_url, tmp_path, datetime.now(UTC), bytecode_cache,
                          secret_key="sk-wrong")
    assert proc.wait(timeout=60) == 2
    output = (tmp_path / "ingester.log").read_text()
    assert "error: Langfuse at http://127.0.0.1" in output
    assert "refused the API keys of project 'clinic' (HTTP 401)" in output
    assert "Traceback" not in output


async def test_distillery_ingest_backfill_re_reads_a_range_live_capture_never_saw(
        sandbox, broker, database_url, tmp_path):
    now = datetime.now(UTC)
    ids = sandbox.add_calls(8, now - timedelta(minutes=30))  # before the ingester's start
    runner, task = await start_ingester(broker, database_url, tmp_path, ingester_config(sandbox, now))
    try:
        env = {"DISTILLERY_KAFKA_BOOTSTRAP": broker.bootstrap, "DISTILLERY_DATABASE_URL": database_url,
               "DISTILLERY_INGESTER_PROJECTS": json.dumps([{"project_id": "clinic", "host": sandbox.url,
                                                            "public_key": KEYS[0], "secret_key": KEYS[1]}])}
        frm, to = (now - timedelta(minutes=40)).isoformat(), now.isoformat()
        asked = await asyncio.to_thread(CliRunner().invoke, ingest_app,
                                        ["backfill", "--from", frm, "--to", to, "--as", "ops"], env=env)
        assert asked.exit_code == 0, asked.output
        assert "Asked the trace-ingester to re-read every project" in asked.output
        assert await wait_until(lambda: drained(database_url, len(ids)), timeout=30)
        done = await wait_until(lambda: fetch_value(database_url, "select bool_and(done) from trace_ingester.backfills",
                                                    default=False), timeout=10)
        status = await asyncio.to_thread(CliRunner().invoke, ingest_app, ["status"], env={**env, "COLUMNS": "200"})
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            served = (await http.get(f"http://{runner.http.host}:{runner.http.port}/status")).json()
    finally:
        await stop(runner, task)

    messages = await read_topic(broker.bootstrap, TRACES_RAW, expect=len(ids))
    assert sorted(m.headers["event-id"] for m in messages) == event_ids(ids)
    assert done and status.exit_code == 0, status.output
    [row] = [line for line in status.output.splitlines() if ":clinic" in line]
    assert f"{len(ids)}" in row and "yes" in row
    assert [p["project_id"] for p in served["projects"]] == ["clinic"]
    assert served["backfills"][0]["published"] == len(ids) and served["backfills"][0]["requested_by"] == "ops"


def test_a_backfill_with_an_empty_or_zoneless_range_is_refused_before_it_is_sent():
    empty = CliRunner().invoke(ingest_app, ["backfill", "--from", "2026-03-02T10:00:00Z",
                                            "--to", "2026-03-02T09:00:00Z"])
    zoneless = CliRunner().invoke(ingest_app, ["backfill", "--from", "2026-03-02T10:00:00",
                                               "--to", "2026-03-02T11:00:00Z"])
    assert empty.exit_code == zoneless.exit_code == 2
    assert "backfill range is empty" in empty.output
    assert "needs a time zone" in " ".join(zoneless.output.split())

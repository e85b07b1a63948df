"""The runtime over a real Tansu broker and a real PostgreSQL, with the probe service."""

from __future__ import annotations

import asyncio
import json

import pytest
from db_helpers import count_rows, probe_applied
from factories import trace
from kafka_helpers import read_topic, wait_until
from probe_service import build

from distillery_contracts.registry import EXAMPLES_REJECTED, TRACES_RAW, all_topic_specs
from distillery_runtime.kafka import ensure_topics, publish_events
from distillery_runtime.service import ServiceRunner
from distillery_runtime.settings import RuntimeSettings

pytestmark = pytest.mark.integration


@pytest.fixture
async def running_probe(broker, database_url):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    settings = RuntimeSettings(kafka_bootstrap=broker.bootstrap, database_url=database_url,
                               handler_attempts=3, handler_backoff_s=0.05, consumer_batch_timeout_ms=50,
                               outbox_poll_s=0.1, api_tokens="old-token,probe-token")
    runner = ServiceRunner(build(settings), settings)
    task = asyncio.create_task(runner.run())
    yield runner
    runner.stopping.set()
    await asyncio.wait_for(task, 30)


async def test_event_reaches_handler_changes_table_and_emits_through_outbox(running_probe, broker, database_url):
    [envelope] = await publish_events(broker.bootstrap, TRACES_RAW, [trace(1)], producer="test/1",
                                      correlation_id="cycle-7")

    rows = await wait_until(lambda: probe_applied(database_url))
    assert rows == {"obs-00001": 1}
    [out] = await read_topic(broker.bootstrap, EXAMPLES_REJECTED, expect=1)
    assert out.headers["event-type"] == "ExampleRejected"
    assert out.headers["causation-id"] == envelope.event_id == "clinic:obs-00001"
    assert out.headers["correlation-id"] == "cycle-7"
    assert out.headers["producer"] == "probe/0.0.1"
    assert out.key == "call-0000"
    assert json.loads(out.value)["lineage"]["observation_id"] == "obs-00001"


async def test_same_event_delivered_twice_changes_nothing_the_second_time(running_probe, broker, database_url):
    await publish_events(broker.bootstrap, TRACES_RAW, [trace(2)], producer="test/1")
    await wait_until(lambda: probe_applied(database_url))
    await publish_events(broker.bootstrap, TRACES_RAW, [trace(2), trace(3)], producer="test/1")

    rows = await wait_until(lambda: _has(database_url, "obs-00003"))
    assert rows == {"obs-00002": 1, "obs-00003": 1}
    out = await read_topic(broker.bootstrap, EXAMPLES_REJECTED, expect=2, settle=1.5)
    assert sorted(m.headers["causation-id"] for m in out) == ["clinic:obs-00002", "clinic:obs-00003"]


async def test_failing_handler_dead_letters_the_message_and_carries_on(running_probe, broker, database_url):
    await publish_events(broker.bootstrap, TRACES_RAW,
                         [trace(10, session="call-x"), trace(11, session="call-x", fail=True),
                          trace(12, session="call-x")], producer="test/1")

    rows = await wait_until(lambda: _has(database_url, "obs-00012"), timeout=30)
    assert rows == {"obs-00010": 1, "obs-00012": 1}
    [letter] = await read_topic(broker.bootstrap, f"{TRACES_RAW}.dlq", expect=1)
    body = json.loads(letter.value)
    assert body["error_type"] == "ProbeFailure"
    assert body["error_message"].startswith("ProbeFailure (raised at ")  # never the message's text
    assert body["source_topic"] == TRACES_RAW
    assert body["consumer_group"] == "distillery.probe"
    assert body["attempts"] == 3
    assert body["offset"] == 1
    assert json.loads(body["original_value"])["observation_id"] == "obs-00011"


async def test_undecodable_message_is_dead_lettered_with_its_reason(running_probe, broker, database_url):
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    await producer.send_and_wait(TRACES_RAW, b'{"not": "a trace"}', key=b"call-y", headers=[
        ("event-id", b"junk-1"), ("event-type", b"TraceCaptured"), ("schema-version", b"1"),
        ("produced-at", b"2026-11-02T09:00:00+00:00"), ("producer", b"someone/1")])
    await producer.send_and_wait(TRACES_RAW, b"{}", key=b"call-y")  # no headers at all
    await producer.stop()
    await publish_events(broker.bootstrap, TRACES_RAW, [trace(20, session="call-y")], producer="test/1")

    assert await wait_until(lambda: _has(database_url, "obs-00020"))
    letters = await read_topic(broker.bootstrap, f"{TRACES_RAW}.dlq", expect=2)
    reasons = sorted(json.loads(m.value)["error_type"] for m in letters)
    assert reasons == ["InvalidPayload", "MissingHeaderError"]
    assert all(json.loads(m.value)["attempts"] == 1 for m in letters)


async def test_a_handler_emitting_an_oversized_event_dead_letters_its_input_and_consuming_goes_on(
        running_probe, broker, database_url):
    oversize = trace(41, session="call-z").model_copy(update={"metadata": {"probe": "oversize"}})
    await publish_events(broker.bootstrap, TRACES_RAW, [trace(40, session="call-z"), oversize,
                                                        trace(42, session="call-z")], producer="test/1")

    rows = await wait_until(lambda: _has(database_url, "obs-00042"), timeout=30)
    assert rows == {"obs-00040": 1, "obs-00042": 1}
    [letter] = await read_topic(broker.bootstrap, f"{TRACES_RAW}.dlq", expect=1)
    body = json.loads(letter.value)
    assert (body["error_type"], body["offset"], body["attempts"]) == ("EventTooLarge", 1, 1)
    assert "ExampleRejected" in body["error_message"]
    assert "over the limit of 1,000,000 bytes" in body["error_message"]
    assert json.loads(body["original_value"])["observation_id"] == "obs-00041"
    out = await read_topic(broker.bootstrap, EXAMPLES_REJECTED, expect=2)
    assert [m.headers["causation-id"] for m in out] == ["clinic:obs-00040", "clinic:obs-00042"]
    assert await read_topic(broker.bootstrap, f"{EXAMPLES_REJECTED}.dlq", expect=0) == []  # never in the outbox
    assert await count_rows(database_url, "probe.outbox") == 0


async def _has(database_url: str, observation_id: str) -> dict[str, int] | None:
    rows = await probe_applied(database_url)
    return rows if observation_id in rows else None


async def test_service_serves_health_readiness_and_metrics(running_probe, broker, database_url):
    import httpx

    await publish_events(broker.bootstrap, TRACES_RAW, [trace(30)], producer="test/1")
    assert await wait_until(lambda: _has(database_url, "obs-00030"))
    base = f"http://127.0.0.1:{running_probe.http.port}"
    async with httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/healthz")).json()["status"] == "ok"
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        assert (await client.get("/metrics")).status_code == 401  # everything else needs a token
        metrics = (await client.get("/metrics", headers={"Authorization": "Bearer probe-token"})).text
    assert 'distillery_messages_applied_total{service="probe",topic="distillery.traces.raw.v1"}' in metrics

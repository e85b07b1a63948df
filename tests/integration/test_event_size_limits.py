"""Size limits over a real Tansu broker and PostgreSQL: one event too large for the broker
neither stops a service's consumer nor blocks its outbox.

Tansu takes records of any size, so the broker's refusal is played by a publisher that
refuses, as Kafka does, every batch holding a record over its limit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError
from db_helpers import count_rows, probe_applied
from factories import trace
from kafka_helpers import read_topic, wait_until
from probe_service import build

from distillery_contracts.registry import EXAMPLES_REJECTED, TRACES_RAW, all_topic_specs
from distillery_contracts.samples import sample_example_rejected
from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.kafka import KafkaPublisher, ensure_topics, publish_events
from distillery_runtime.migrations import migrate
from distillery_runtime.outbox import OutboxRelay
from distillery_runtime.service import ServiceRunner
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork

pytestmark = pytest.mark.integration

PROBE_MIGRATIONS = Path(__file__).parents[1] / "support" / "probe_migrations"


@pytest.fixture
async def running_probe(broker, database_url):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    settings = RuntimeSettings(kafka_bootstrap=broker.bootstrap, database_url=database_url,
                               handler_attempts=3, handler_backoff_s=0.05, consumer_batch_timeout_ms=50,
                               outbox_poll_s=0.1)
    runner = ServiceRunner(build(settings), settings)
    task = asyncio.create_task(runner.run())
    yield runner
    runner.stopping.set()
    await asyncio.wait_for(task, 30)


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
    assert [m.headers["causation-id"] for m in out] == ["obs-00040", "obs-00042"]
    assert await read_topic(broker.bootstrap, f"{EXAMPLES_REJECTED}.dlq", expect=0) == []  # never in the outbox
    assert await count_rows(database_url, "probe.outbox") == 0


class RefusingPublisher(KafkaPublisher):
    """A broker whose limit is ``limit`` bytes a record: a batch holding a larger one is refused whole."""

    def __init__(self, bootstrap: str, limit: int) -> None:
        super().__init__(bootstrap, "probe-outbox")
        self.limit = limit

    async def send_all(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if any(len(row["payload"]) > self.limit for row in rows):
            raise MessageSizeTooLargeError("the request included a message larger than the max message size")
        await super().send_all(rows)


@pytest.fixture
async def probe_engine(database_url):
    engine = create_engine(database_url, "probe")
    await migrate(engine, "probe", PROBE_MIGRATIONS)
    yield engine
    await engine.dispose()


async def _written(engine, detail_sizes: list[int]) -> list[str]:
    """Rejections of these detail sizes, all keyed ``call-q``, in the outbox as a service with a
    far higher limit would have left them; their event ids."""
    async with UnitOfWork(session_factory(engine), "probe/0.0.1", max_event_bytes=10**8) as uow:
        ids = [uow.emit(EXAMPLES_REJECTED, sample_example_rejected(rejection_id=f"rej-{n}", detail="x" * size),
                        key="call-q").event_id for n, size in enumerate(detail_sizes)]
        await uow.commit()
    return ids


@pytest.mark.parametrize("refusal", ["over our limit", "by the broker"])
async def test_an_outbox_row_too_large_is_moved_to_the_dead_letter_topic_and_the_rows_behind_it_go(
        refusal, broker, probe_engine, database_url):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    small, big, after = await _written(probe_engine, [10, 1_500_000, 10])
    if refusal == "over our limit":
        publisher, limit = KafkaPublisher(broker.bootstrap, "probe-outbox"), 1_000_000
    else:
        publisher, limit = RefusingPublisher(broker.bootstrap, limit=1_000_000), 10**8
    relay = OutboxRelay(probe_engine, publisher, lock_name="outbox:probe", max_event_bytes=limit)
    try:
        rounds = [await relay.publish_pending() for _ in range(3)]
    finally:
        await publisher.stop()

    assert rounds == [3, 1, 0]  # the three rows, then the dead letter that replaced one
    out = await read_topic(broker.bootstrap, EXAMPLES_REJECTED, expect=2)
    assert [m.headers["event-id"] for m in out] == [small, after]  # once each, in order
    [letter] = await read_topic(broker.bootstrap, f"{EXAMPLES_REJECTED}.dlq", expect=1)
    body = json.loads(letter.value)
    assert (body["error_type"], body["source_topic"], body["original_key"]) == (
        "EventTooLarge", EXAMPLES_REJECTED, "call-q")
    assert body["original_headers"]["event-id"] == big
    assert body["original_value"] == "" and body["original_bytes"] > 1_500_000
    assert letter.headers["causation-id"] == big and len(letter.value) < 8 * 1024
    assert await count_rows(database_url, "probe.outbox") == 0


async def _has(database_url: str, observation_id: str) -> dict[str, int] | None:
    rows = await probe_applied(database_url)
    return rows if observation_id in rows else None

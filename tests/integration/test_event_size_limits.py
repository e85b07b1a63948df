"""Size limits over a real Tansu broker and PostgreSQL: an outbox row too large for the broker
does not block the rows behind it (a handler's oversized event: test_runtime_delivery.py).

Tansu takes records of any size, so the broker's refusal is played by a publisher that
refuses, as Kafka does, every batch holding a record over its limit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError
from db_helpers import count_rows
from kafka_helpers import read_topic

from distillery_contracts.registry import EXAMPLES_REJECTED, all_topic_specs
from distillery_contracts.samples import sample_example_rejected
from distillery_runtime.db import session_factory
from distillery_runtime.kafka import KafkaPublisher, ensure_topics
from distillery_runtime.outbox import OutboxRelay
from distillery_runtime.uow import UnitOfWork

pytestmark = pytest.mark.integration


class RefusingPublisher(KafkaPublisher):
    """A broker whose limit is ``limit`` bytes a record: a batch holding a larger one is refused whole."""

    def __init__(self, bootstrap: str, limit: int) -> None:
        super().__init__(bootstrap, "probe-outbox")
        self.limit = limit

    async def send_all(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if any(len(row["payload"]) > self.limit for row in rows):
            raise MessageSizeTooLargeError("the request included a message larger than the max message size")
        await super().send_all(rows)


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

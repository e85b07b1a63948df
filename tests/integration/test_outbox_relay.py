"""The outbox relay over a real Tansu broker and PostgreSQL: what a commit in the relay's own
process stored is published from memory, what another instance stored is read back, and the
broker sees every row once, in the order the rows were stored."""

from __future__ import annotations

import json

import pytest
from db_helpers import count_rows
from kafka_helpers import read_topic
from sqlalchemy import text

from distillery_contracts.registry import EXAMPLES_REJECTED, all_topic_specs
from distillery_contracts.samples import sample_example_rejected
from distillery_runtime.db import session_factory
from distillery_runtime.kafka import KafkaPublisher, ensure_topics
from distillery_runtime.outbox import OutboxRelay
from distillery_runtime.uow import UnitOfWork

pytestmark = pytest.mark.integration


async def _commit(engine, relay: OutboxRelay | None, names: list[str]) -> list[str]:
    """Rejections named ``names`` committed in one unit of work; with ``relay``, as the relay's own
    process commits (it is handed the rows), without, as another instance does. Their event ids."""
    on_commit = relay.committed if relay is not None else None
    async with UnitOfWork(session_factory(engine), "probe/0.0.1", on_commit=on_commit) as uow:
        ids = [uow.emit(EXAMPLES_REJECTED, sample_example_rejected(rejection_id=name), key="call-r").event_id
               for name in names]
        await uow.commit()
    return ids


async def test_own_rows_go_from_memory_others_are_read_back_and_all_go_once_in_stored_order(
        broker, probe_engine, database_url):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    publisher = KafkaPublisher(broker.bootstrap, "probe-outbox")
    relay = OutboxRelay(probe_engine, publisher, lock_name="outbox:probe", batch_size=3)
    own_first = await _commit(probe_engine, relay, ["own-1", "own-2"])
    other = await _commit(probe_engine, None, ["other-1"])
    own_last = await _commit(probe_engine, relay, ["own-3", "own-1"])  # own-1 again: stored once
    # The stored rows of this process's commits are altered behind the relay's back: what it
    # publishes of them is what it was handed, while the other instance's row is read as stored.
    async with probe_engine.begin() as conn:
        await conn.execute(text("update probe.outbox set payload = convert_to('{\"altered\": true}', 'UTF8')"))
    try:
        rounds = [await relay.publish_pending() for _ in range(3)]
    finally:
        await publisher.stop()

    assert rounds == [3, 1, 0]
    out = await read_topic(broker.bootstrap, EXAMPLES_REJECTED, expect=4)
    assert [m.headers["event-id"] for m in out] == [*own_first, *other, own_last[0]]
    assert [json.loads(m.value).get("rejection_id") for m in out] == ["own-1", "own-2", None, "own-3"]
    assert await count_rows(database_url, "probe.outbox") == 0


async def test_rows_past_what_the_relay_keeps_in_memory_are_read_back_in_order(broker, probe_engine, database_url):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    publisher = KafkaPublisher(broker.bootstrap, "probe-outbox")
    relay = OutboxRelay(probe_engine, publisher, lock_name="outbox:probe", batch_size=2)  # keeps 8
    names = [f"own-{n}" for n in range(11)]
    stored = await _commit(probe_engine, relay, names)
    try:
        published = 0
        while (n := await relay.publish_pending()) > 0:
            published += n
    finally:
        await publisher.stop()

    assert published == 11
    out = await read_topic(broker.bootstrap, EXAMPLES_REJECTED, expect=11)
    assert [m.headers["event-id"] for m in out] == stored
    assert [json.loads(m.value)["rejection_id"] for m in out] == names

"""A service's subscriptions join their consumer groups together, not one after the other;
its relay sends each key to the partition Kafka's partitioner gives it."""

from __future__ import annotations

import asyncio

import pytest

from distillery_runtime.kafka import create_broker


class Joining:
    """A subscriber whose start waits, as aiokafka's does, until its group has its assignment."""

    def __init__(self, joined: asyncio.Event, fails: bool = False) -> None:
        self.joined, self.fails = joined, fails
        self.started = self.cancelled = False

    async def start(self) -> None:
        self.started = True
        if self.fails:
            raise ConnectionError("no coordinator")
        try:
            await self.joined.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


class Publisher:
    started = False

    async def start(self) -> None:
        self.started = True


def broker_with(monkeypatch: pytest.MonkeyPatch, subscribers: list[Joining], publishers: list[Publisher]):
    broker = create_broker("127.0.0.1:9", "test")

    async def connected() -> None:
        return None

    monkeypatch.setattr(broker, "connect", connected)
    monkeypatch.setattr(type(broker), "subscribers", property(lambda self: subscribers), raising=False)
    monkeypatch.setattr(type(broker), "publishers", property(lambda self: publishers), raising=False)
    return broker


async def test_every_subscription_is_joining_before_the_first_has_joined(monkeypatch):
    joined = asyncio.Event()
    subscribers = [Joining(joined), Joining(joined), Joining(joined)]
    publishers = [Publisher()]
    broker = broker_with(monkeypatch, subscribers, publishers)
    starting = asyncio.ensure_future(broker.start())
    await asyncio.sleep(0.01)
    assert [s.started for s in subscribers] == [True, True, True]
    assert not starting.done() and not broker.running
    joined.set()
    await asyncio.wait_for(starting, 1)
    assert broker.running and publishers[0].started


async def test_a_subscription_that_cannot_start_stops_the_others_joining(monkeypatch):
    joined = asyncio.Event()
    subscribers = [Joining(joined), Joining(joined, fails=True), Joining(joined)]
    broker = broker_with(monkeypatch, subscribers, [Publisher()])
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(broker.start(), 1)
    await asyncio.sleep(0)
    assert [s.cancelled for s in subscribers] == [True, False, True]
    assert not broker.running


def test_a_key_gets_the_partition_aiokafkas_default_partitioner_gives_it():
    """The relay packs record batches itself, so it picks partitions itself: as ``send`` would, or
    the turns of one call would land on two partitions and lose their order."""
    import random

    from aiokafka.partitioner import DefaultPartitioner

    from distillery_runtime.kafka import partition_of

    rng = random.Random(7)
    keys = [f"session-{rng.getrandbits(64):x}".encode() for _ in range(2_000)] + [b"", b"\xff" * 13, "é".encode()]
    for count in (1, 3, 12, 50):
        partitions = list(range(count))
        for key in keys * 2:  # the second time from the cache
            assert partition_of(key, partitions) == DefaultPartitioner()(key, partitions, partitions)
    assert {partition_of(None, [0, 1, 2]) for _ in range(200)} == {0, 1, 2}

"""A service's subscriptions join their consumer groups together, not one after the other."""

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

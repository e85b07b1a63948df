"""The console's unit tests: the recorded cycle fed through the handlers into the fake store.

This folder is on ``sys.path`` so that tests (and the integration suite) import the
recorded streams and the store contract suite by name.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from recorded_streams import T0, recorded_cycle  # noqa: E402

from distillery_console.adapters.fakes import FakeConsoleStore  # noqa: E402
from distillery_console.adapters.store import AbstractConsoleStore  # noqa: E402
from distillery_console.app import build  # noqa: E402
from distillery_console.config import ConsoleSettings  # noqa: E402
from distillery_console.handlers import Handlers  # noqa: E402
from distillery_contracts.base import Event  # noqa: E402
from distillery_runtime.consumer import delivery_of  # noqa: E402
from distillery_runtime.settings import RuntimeSettings  # noqa: E402
from distillery_runtime.uow import FakeUnitOfWork  # noqa: E402


async def feed(store: AbstractConsoleStore, events: list[tuple[str, Event]]) -> None:
    """Deliver each event to the handler its topic has in the console's service spec."""
    spec = build(RuntimeSettings(), ConsoleSettings())
    by_topic = {s.topic.name: s for s in spec.subscriptions}
    handlers = Handlers(lambda _: store)
    for topic, event in events:
        sub = by_topic[topic]
        bound = getattr(handlers, sub.handler.__name__)
        await bound(FakeUnitOfWork(), [delivery_of(event, topic=topic)])


@pytest.fixture
async def fed_store() -> FakeConsoleStore:
    store = FakeConsoleStore()
    await feed(store, recorded_cycle())
    return store


def opener(store: AbstractConsoleStore) -> Callable[[], object]:
    @asynccontextmanager
    async def open_store() -> AsyncIterator[AbstractConsoleStore]:
        yield store

    return open_store


def fixed_clock() -> datetime:
    return T0

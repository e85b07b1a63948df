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

from recorded_streams import T0, feed, recorded_cycle  # noqa: E402

from distillery_console.adapters.fakes import FakeConsoleStore  # noqa: E402
from distillery_console.adapters.store import AbstractConsoleStore  # noqa: E402


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

"""The console's unit tests: the recorded cycle fed through the handlers into the fake store.

This folder is on ``sys.path`` so that tests (and the integration suite) import the
recorded streams and the store contract suite by name.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from recorded_streams import feed, recorded_cycle  # noqa: E402

from distillery_console.adapters.fakes import FakeConsoleStore, FakeDataStore  # noqa: E402


@pytest.fixture
def data_store() -> FakeDataStore:
    """The Data page's fake store, fed with ``fed_store``."""
    return FakeDataStore()


@pytest.fixture
async def fed_store(data_store) -> FakeConsoleStore:
    store = FakeConsoleStore()
    data_store.items = store
    await feed(store, recorded_cycle(), data_store)
    return store

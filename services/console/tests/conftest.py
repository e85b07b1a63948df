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

from distillery_console.adapters.fakes import FakeConsoleStore  # noqa: E402


@pytest.fixture
async def fed_store() -> FakeConsoleStore:
    store = FakeConsoleStore()
    await feed(store, recorded_cycle())
    return store

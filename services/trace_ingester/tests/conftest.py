"""The trace-ingester's unit tests share helpers through ingester_support.py, and the fake
database and clock of the capture tests here."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from distillery_trace_ingester.adapters.fakes import FakeIngesterDatabase  # noqa: E402
from distillery_trace_ingester.samples import T0  # noqa: E402


class Clock:
    """A settable clock: ``now`` is what it reads."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock(T0 + timedelta(hours=1))


@pytest.fixture
def hub():
    return FakeIngesterDatabase()

"""Fixtures of the cleaner's unit tests; builders live in cleaner_samples.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from distillery_cleaner.adapters.fakes import FakeCleanerRepository  # noqa: E402
from distillery_cleaner.domain.config import CleanerConfig  # noqa: E402
from distillery_cleaner.domain.screen import Cleaner  # noqa: E402


@pytest.fixture
def cleaner() -> Cleaner:
    return Cleaner(CleanerConfig(), "0.1.0")


@pytest.fixture
def repo() -> FakeCleanerRepository:
    return FakeCleanerRepository()

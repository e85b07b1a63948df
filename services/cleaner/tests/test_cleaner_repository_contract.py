"""The store contract against the fake and the in-memory store (PostgreSQL runs it in tests/integration)."""

from __future__ import annotations

import pytest
from cleaner_repository_contract import CleanerRepositoryContract

from distillery_cleaner.adapters.fakes import FakeCleanerRepository
from distillery_cleaner.adapters.memory import MemoryCleanerRepository


class TestFakeCleanerRepository(CleanerRepositoryContract):
    @pytest.fixture
    def repo(self) -> FakeCleanerRepository:
        return FakeCleanerRepository()


class TestMemoryCleanerRepository(CleanerRepositoryContract):
    @pytest.fixture
    def repo(self) -> MemoryCleanerRepository:
        return MemoryCleanerRepository()

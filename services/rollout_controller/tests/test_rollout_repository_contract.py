"""The repository contract against the fake the unit tests use (PostgreSQL runs it in tests/integration)."""

from __future__ import annotations

import pytest
from rollout_repository_contract import RolloutRepositoryContract

from distillery_rollout_controller.adapters.fakes import FakeRolloutRepository


class TestFakeRolloutRepository(RolloutRepositoryContract):
    @pytest.fixture
    def repo(self) -> FakeRolloutRepository:
        return FakeRolloutRepository()

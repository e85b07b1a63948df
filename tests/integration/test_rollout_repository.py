"""The repository contract against PostgreSQL: the same tests the fake passes in the unit suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from contract_suites import contract_suite
from db_helpers import migrated_session

import distillery_rollout_controller
from distillery_rollout_controller.adapters.repository import SqlRolloutRepository

# The contract lives beside the fake's unit tests, where the service's own suite runs it.
RolloutRepositoryContract = contract_suite("rollout_controller", "rollout_repository_contract").RolloutRepositoryContract

pytestmark = pytest.mark.integration

MIGRATIONS = Path(distillery_rollout_controller.__file__).parent / "migrations"


class TestSqlRolloutRepository(RolloutRepositoryContract):
    @pytest.fixture
    async def repo(self, database_url: str) -> AsyncIterator[SqlRolloutRepository]:
        async with migrated_session(database_url, "rollout_controller", MIGRATIONS) as session:
            yield SqlRolloutRepository(session)

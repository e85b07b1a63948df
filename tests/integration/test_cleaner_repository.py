"""The cleaner's store contract against PostgreSQL: the same tests the fake and the in-memory
store pass in the unit suite (services/cleaner/tests/cleaner_repository_contract.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from contract_suites import contract_suite
from db_helpers import migrated_session

import distillery_cleaner
from distillery_cleaner.adapters.repository import SqlCleanerRepository

# The contract lives beside the fake's unit tests, where the service's own suite runs it.
CleanerRepositoryContract = contract_suite("cleaner", "cleaner_repository_contract").CleanerRepositoryContract

pytestmark = pytest.mark.integration

MIGRATIONS = Path(distillery_cleaner.__file__).parent / "migrations"


class TestSqlCleanerRepository(CleanerRepositoryContract):
    @pytest.fixture
    async def repo(self, database_url: str) -> AsyncIterator[SqlCleanerRepository]:
        async with migrated_session(database_url, "cleaner", MIGRATIONS) as session:
            yield SqlCleanerRepository(session)

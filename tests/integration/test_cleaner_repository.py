"""The cleaner's store contract against PostgreSQL: the same tests the fake and the in-memory
store pass in the unit suite (services/cleaner/tests/cleaner_repository_contract.py)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from db_helpers import migrated_session

import distillery_cleaner
from distillery_cleaner.adapters.repository import SqlCleanerRepository

# The contract lives beside the fake's unit tests, where the service's own suite runs it.
sys.path.insert(0, str(Path(__file__).parents[2] / "services" / "cleaner" / "tests"))
from cleaner_repository_contract import CleanerRepositoryContract  # noqa: E402

pytestmark = pytest.mark.integration

MIGRATIONS = Path(distillery_cleaner.__file__).parent / "migrations"


class TestSqlCleanerRepository(CleanerRepositoryContract):
    @pytest.fixture
    async def repo(self, database_url: str) -> AsyncIterator[SqlCleanerRepository]:
        async with migrated_session(database_url, "cleaner", MIGRATIONS) as session:
            yield SqlCleanerRepository(session)

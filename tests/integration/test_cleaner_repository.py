"""The cleaner's store contract against PostgreSQL: the same tests the fake and the in-memory
store pass in the unit suite (services/cleaner/tests/cleaner_repository_contract.py)."""

from __future__ import annotations

import pytest
from contract_suites import contract_suite, sql_store

from distillery_cleaner.adapters.repository import SqlCleanerRepository

pytestmark = pytest.mark.integration

# The contract lives beside the fake's unit tests, where the service's own suite runs it.
CleanerRepositoryContract = contract_suite("cleaner", "cleaner_repository_contract").CleanerRepositoryContract


class TestSqlCleanerRepository(CleanerRepositoryContract):
    repo = sql_store("cleaner", SqlCleanerRepository)

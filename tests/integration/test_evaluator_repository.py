"""The evaluator store's contract against PostgreSQL: the same tests the fake passes in the unit suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from contract_suites import contract_suite
from db_helpers import migrated_session

import distillery_evaluator
from distillery_evaluator.adapters.repository import SqlEvalRepository

# The contract lives beside the fake's unit tests, where the service's own suite runs it.
EvalRepositoryContract = contract_suite("evaluator", "eval_repository_contract").EvalRepositoryContract

pytestmark = pytest.mark.integration

MIGRATIONS = Path(distillery_evaluator.__file__).parent / "migrations"


class TestSqlEvalRepository(EvalRepositoryContract):
    @pytest.fixture
    async def repo(self, database_url: str) -> AsyncIterator[SqlEvalRepository]:
        async with migrated_session(database_url, "evaluator", MIGRATIONS) as session:
            yield SqlEvalRepository(session)

"""The evaluator store's contract against PostgreSQL: the same tests the fake passes in the unit suite."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from db_helpers import migrated_session

import distillery_evaluator
from distillery_evaluator.adapters.repository import SqlEvalRepository

# The contract lives beside the fake's unit tests, where the service's own suite runs it.
sys.path.insert(0, str(Path(__file__).parents[2] / "services" / "evaluator" / "tests"))
from eval_repository_contract import EvalRepositoryContract  # noqa: E402

pytestmark = pytest.mark.integration

MIGRATIONS = Path(distillery_evaluator.__file__).parent / "migrations"


class TestSqlEvalRepository(EvalRepositoryContract):
    @pytest.fixture
    async def repo(self, database_url: str) -> AsyncIterator[SqlEvalRepository]:
        async with migrated_session(database_url, "evaluator", MIGRATIONS) as session:
            yield SqlEvalRepository(session)

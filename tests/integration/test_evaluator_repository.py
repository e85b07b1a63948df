"""The evaluator store's contract against PostgreSQL: the same tests the fake passes in the unit suite."""

from __future__ import annotations

import pytest
from contract_suites import contract_suite, sql_store

from distillery_evaluator.adapters.repository import SqlEvalRepository

pytestmark = pytest.mark.integration

# The contract lives beside the fake's unit tests, where the service's own suite runs it.
EvalRepositoryContract = contract_suite("evaluator", "eval_repository_contract").EvalRepositoryContract


class TestSqlEvalRepository(EvalRepositoryContract):
    repo = sql_store("evaluator", SqlEvalRepository)

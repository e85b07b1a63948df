"""The repository contract against PostgreSQL: the same tests the fake passes in the unit suite."""

from __future__ import annotations

import pytest
from contract_suites import contract_suite, sql_store

from distillery_rollout_controller.adapters.repository import SqlRolloutRepository

pytestmark = pytest.mark.integration

# The contract lives beside the fake's unit tests, where the service's own suite runs it.
RolloutRepositoryContract = contract_suite("rollout_controller", "rollout_repository_contract").RolloutRepositoryContract


class TestSqlRolloutRepository(RolloutRepositoryContract):
    repo = sql_store("rollout-controller", SqlRolloutRepository)

"""The job and model store contracts against PostgreSQL: the same tests the fakes pass in the
unit suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from contract_suites import contract_suite
from db_helpers import migrated_session

import distillery_finetune_controller
from distillery_finetune_controller import SCHEMA
from distillery_finetune_controller.adapters.job_store import SqlJobStore
from distillery_finetune_controller.adapters.model_store import SqlModelStore

# The contracts live beside the fakes' unit tests, where the service's own suite runs them.
_suites = contract_suite("finetune_controller", "finetune_store_contracts")
JobStoreContract, ModelStoreContract = _suites.JobStoreContract, _suites.ModelStoreContract

pytestmark = pytest.mark.integration

MIGRATIONS = Path(distillery_finetune_controller.__file__).parent / "migrations"


class TestSqlJobStore(JobStoreContract):
    @pytest.fixture
    async def jobs(self, database_url: str) -> AsyncIterator[SqlJobStore]:
        async with migrated_session(database_url, SCHEMA, MIGRATIONS) as session:
            yield SqlJobStore(session)


class TestSqlModelStore(ModelStoreContract):
    @pytest.fixture
    async def registry(self, database_url: str) -> AsyncIterator[SqlModelStore]:
        async with migrated_session(database_url, SCHEMA, MIGRATIONS) as session:
            yield SqlModelStore(session)

"""The job and model store contracts against PostgreSQL: the same tests the fakes pass in the
unit suite."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from db_helpers import migrated_session

import distillery_finetune_controller
from distillery_finetune_controller import SCHEMA
from distillery_finetune_controller.adapters.job_store import SqlJobStore
from distillery_finetune_controller.adapters.model_store import SqlModelStore

# The contracts live beside the fakes' unit tests, where the service's own suite runs them.
sys.path.insert(0, str(Path(__file__).parents[2] / "services" / "finetune_controller" / "tests"))
from finetune_store_contracts import JobStoreContract, ModelStoreContract  # noqa: E402

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

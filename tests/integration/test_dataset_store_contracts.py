"""The dataset-builder's store contracts against PostgreSQL: the fakes the unit tests use behave like it.

Each suite is written once, in ``services/dataset_builder/tests/test_*_contract.py``, where
it runs against the fakes; here the same classes run against the SQL stores, all three on
one transaction of a freshly migrated schema (rolled back after each test).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from contract_suites import contract_suite
from db_helpers import service_session
from sqlalchemy.ext.asyncio import AsyncSession

from distillery_dataset_builder.adapters.catalog import SqlDatasetCatalog
from distillery_dataset_builder.adapters.example_store import AbstractExampleStore, SqlExampleStore
from distillery_dataset_builder.adapters.registry import SqlDatasetRegistry

pytestmark = pytest.mark.integration

ExampleStoreContract = contract_suite("dataset_builder", "test_example_store_contract").ExampleStoreContract
DatasetRegistryContract = contract_suite("dataset_builder", "test_dataset_registry_contract").DatasetRegistryContract
DatasetCatalogContract = contract_suite("dataset_builder", "test_dataset_catalog_contract").DatasetCatalogContract


@pytest.fixture
async def session(database_url: str) -> AsyncIterator[AsyncSession]:
    async with service_session(database_url, "dataset-builder") as session:
        yield session


class TestSqlExampleStore(ExampleStoreContract):
    @pytest.fixture
    def store(self, session: AsyncSession) -> AbstractExampleStore:
        return SqlExampleStore(session)


class TestSqlDatasetRegistry(DatasetRegistryContract):
    @pytest.fixture
    def stores(self, session: AsyncSession) -> tuple[SqlExampleStore, SqlDatasetRegistry]:
        return SqlExampleStore(session), SqlDatasetRegistry(session)


class TestSqlDatasetCatalog(DatasetCatalogContract):
    @pytest.fixture
    def stores(self, session: AsyncSession) -> tuple[SqlExampleStore, SqlDatasetRegistry, SqlDatasetCatalog]:
        return SqlExampleStore(session), SqlDatasetRegistry(session), SqlDatasetCatalog(session)

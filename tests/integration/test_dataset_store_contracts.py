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
from distillery_dataset_builder.domain.records import records_of
from distillery_dataset_builder.samples import synthetic_calls
from distillery_runtime.tokens import tokenizer_for

pytestmark = pytest.mark.integration

_EXAMPLE_STORE_SUITE = contract_suite("dataset_builder", "test_example_store_contract")
ExampleStoreContract = _EXAMPLE_STORE_SUITE.ExampleStoreContract
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


async def test_examples_added_in_a_transaction_rolled_back_are_not_stored(database_url: str):
    records = records_of(list(synthetic_calls(2, turns=2)), tokenizer_for("gpt-4o-mini-2024-07-18"))
    async with service_session(database_url, "dataset-builder") as session:
        assert await SqlExampleStore(session).add(records) == 4
        await session.rollback()
        assert await SqlExampleStore(session).count_new(0) == 0, "the add was committed outside the transaction"
        assert await SqlExampleStore(session).add(records) == 4


async def test_an_id_already_stored_keeps_the_rest_of_the_transaction_and_stores_the_new_ones(database_url: str):
    """The store copies a batch straight into the table and, where an id is already there,
    takes the batch again through its staging table: what the transaction did before stays."""
    calls = list(synthetic_calls(3, turns=2))
    records = records_of(calls, tokenizer_for("gpt-4o-mini-2024-07-18"))
    async with service_session(database_url, "dataset-builder") as session:
        store = SqlExampleStore(session)
        assert await store.add(records[:2]) == 2
        assert await store.retract([_EXAMPLE_STORE_SUITE.rejection(calls[5])]) == [], "pending: not stored yet"
        assert await store.add(records[1:]) == 4, "records[1] is known: only the four new ones count"
        await session.commit()
        assert await store.count_new(0) == 5, "calls[5] was withdrawn by the rejection that came first"
        assert await store.add(records) == 0


class TestSqlDatasetRegistry(DatasetRegistryContract):
    @pytest.fixture
    def stores(self, session: AsyncSession) -> tuple[SqlExampleStore, SqlDatasetRegistry]:
        return SqlExampleStore(session), SqlDatasetRegistry(session)


class TestSqlDatasetCatalog(DatasetCatalogContract):
    @pytest.fixture
    def stores(self, session: AsyncSession) -> tuple[SqlExampleStore, SqlDatasetRegistry, SqlDatasetCatalog]:
        return SqlExampleStore(session), SqlDatasetRegistry(session), SqlDatasetCatalog(session)

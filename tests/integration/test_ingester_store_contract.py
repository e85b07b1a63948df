"""The ingester's store contract (services/trace_ingester/tests) run on PostgreSQL."""

from __future__ import annotations


import pytest
from contract_suites import contract_suite

from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.migrations import migrate
from distillery_trace_ingester.adapters.store import SqlIngesterStore
from distillery_trace_ingester.app import MIGRATIONS, SCHEMA

pytestmark = pytest.mark.integration

contract = contract_suite("trace_ingester", "test_ingester_store_contract")


class TestSqlIngesterStore(contract.IngesterStoreContract):
    @pytest.fixture
    async def store(self, database_url):
        engine = create_engine(database_url, SCHEMA)
        await migrate(engine, SCHEMA, MIGRATIONS)
        async with session_factory(engine)() as session:
            yield SqlIngesterStore(session)
            await session.rollback()
        await engine.dispose()

"""The ingester's store contract (services/trace_ingester/tests) run on PostgreSQL."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.migrations import migrate
from distillery_trace_ingester.adapters.store import SqlIngesterStore
from distillery_trace_ingester.app import MIGRATIONS, SCHEMA

pytestmark = pytest.mark.integration

_CONTRACT = Path(__file__).resolve().parents[2] / "services/trace_ingester/tests/test_ingester_store_contract.py"
_spec = importlib.util.spec_from_file_location("trace_ingester_store_contract", _CONTRACT)
assert _spec is not None and _spec.loader is not None
contract = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(contract)


class TestSqlIngesterStore(contract.IngesterStoreContract):
    @pytest.fixture
    async def store(self, database_url):
        engine = create_engine(database_url, SCHEMA)
        await migrate(engine, SCHEMA, MIGRATIONS)
        async with session_factory(engine)() as session:
            yield SqlIngesterStore(session)
            await session.rollback()
        await engine.dispose()

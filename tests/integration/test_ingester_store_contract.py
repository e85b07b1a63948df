"""The ingester's store contract (services/trace_ingester/tests) run on PostgreSQL."""

from __future__ import annotations

import pytest
from contract_suites import contract_suite, sql_store

from distillery_trace_ingester.adapters.store import SqlIngesterStore

pytestmark = pytest.mark.integration

contract = contract_suite("trace_ingester", "test_ingester_store_contract")


class TestSqlIngesterStore(contract.IngesterStoreContract):
    store = sql_store("trace-ingester", SqlIngesterStore)

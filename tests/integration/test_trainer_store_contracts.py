"""The trainer store contract against PostgreSQL: the same tests the fake passes in the unit suite."""

from __future__ import annotations

import pytest
from contract_suites import contract_suite, sql_store

from distillery_trainer.adapters.store import SqlTrainerStore

pytestmark = pytest.mark.integration

_suites = contract_suite("trainer", "trainer_store_contracts")


class TestSqlTrainerStore(_suites.TrainerStoreContract):
    trainer_store = sql_store("trainer", SqlTrainerStore)

"""The job and model store contracts against PostgreSQL: the same tests the fakes pass in the
unit suite."""

from __future__ import annotations

import pytest
from contract_suites import contract_suite, sql_store

from distillery_finetune_controller.adapters.job_store import SqlJobStore
from distillery_finetune_controller.adapters.model_store import SqlModelStore

pytestmark = pytest.mark.integration

# The contracts live beside the fakes' unit tests, where the service's own suite runs them.
_suites = contract_suite("finetune_controller", "finetune_store_contracts")


class TestSqlJobStore(_suites.JobStoreContract):
    jobs = sql_store("finetune-controller", SqlJobStore)


class TestSqlModelStore(_suites.ModelStoreContract):
    registry = sql_store("finetune-controller", SqlModelStore)

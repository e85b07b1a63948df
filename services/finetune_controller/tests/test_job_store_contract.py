"""The job store contract against the fake the unit tests use (PostgreSQL runs it in tests/integration)."""

from __future__ import annotations

import pytest
from finetune_store_contracts import JobStoreContract

from distillery_finetune_controller.adapters.fakes import FakeJobStore


class TestFakeJobStore(JobStoreContract):
    @pytest.fixture
    def jobs(self) -> FakeJobStore:
        return FakeJobStore()

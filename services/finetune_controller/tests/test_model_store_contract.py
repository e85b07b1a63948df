"""The model store contract against the fake the unit tests use (PostgreSQL runs it in tests/integration)."""

from __future__ import annotations

import pytest
from finetune_store_contracts import ModelStoreContract

from distillery_finetune_controller.adapters.fakes import FakeModelStore


class TestFakeModelStore(ModelStoreContract):
    @pytest.fixture
    def registry(self) -> FakeModelStore:
        return FakeModelStore()

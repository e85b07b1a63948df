"""The trainer store contract against the fake the unit tests use (PostgreSQL runs it in tests/integration)."""

from __future__ import annotations

import pytest
from trainer_store_contracts import TrainerStoreContract

from distillery_trainer.adapters.fakes import FakeTrainerStore


class TestFakeTrainerStore(TrainerStoreContract):
    @pytest.fixture
    def trainer_store(self) -> FakeTrainerStore:
        return FakeTrainerStore()

"""The store's contract against the fake the unit tests use (PostgreSQL runs it in
tests/integration/test_evaluator_repository.py)."""

from __future__ import annotations

import pytest
from eval_repository_contract import EvalRepositoryContract

from distillery_evaluator.adapters.fakes import FakeEvalRepository


class TestFakeEvalRepository(EvalRepositoryContract):
    @pytest.fixture
    def repo(self) -> FakeEvalRepository:
        return FakeEvalRepository()

"""Fixtures of the evaluator's unit tests; helpers live in evaluator_support.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from evaluator_support import STUDENT, TEACHER  # noqa: E402

from distillery_evaluator.adapters.fakes import FakeEvalRepository  # noqa: E402
from distillery_evaluator.domain.requests import ModelTarget, RunRequest  # noqa: E402


@pytest.fixture
def repo() -> FakeEvalRepository:
    return FakeEvalRepository()


@pytest.fixture
def request_() -> RunRequest:
    return RunRequest(run_id="eval-test", trigger="finetune", candidate=ModelTarget(model=STUDENT),
                      teacher=ModelTarget(model=TEACHER), job_id="job-1", dataset_id=None,
                      cycle_id="cycle-0001")



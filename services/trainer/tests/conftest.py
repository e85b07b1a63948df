"""A trainer on fakes: in-memory store, a runner that trains nothing, a local blob store.

This folder is on ``sys.path`` so that tests import ``trainer_fixtures``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from trainer_fixtures import Clock  # noqa: E402

from distillery_runtime.blobstore import LocalBlobStore  # noqa: E402
from distillery_runtime.uow import FakeUnitOfWork  # noqa: E402
from distillery_trainer.adapters.fakes import FakeTrainerStore, FakeTrainingRunner  # noqa: E402
from distillery_trainer.config import TrainerSettings  # noqa: E402
from distillery_trainer.services import Trainer  # noqa: E402


@pytest.fixture
def store() -> FakeTrainerStore:
    return FakeTrainerStore()


@pytest.fixture
def runner() -> FakeTrainingRunner:
    return FakeTrainingRunner()


@pytest.fixture
def settings() -> TrainerSettings:
    return TrainerSettings(base_models={"clinic-base": "/models/clinic-base"}, progress_flush_s=0.01, max_attempts=2)


@pytest.fixture
def trainer(tmp_path: Path, store: FakeTrainerStore, runner: FakeTrainingRunner, settings: TrainerSettings) -> Trainer:
    return Trainer(settings, LocalBlobStore(tmp_path / "blobs"), runner, lambda uow: store, tmp_path / "work",
                   new_uow=FakeUnitOfWork, now=Clock())

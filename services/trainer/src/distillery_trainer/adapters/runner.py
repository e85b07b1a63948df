"""Training one adapter: :func:`distillery_students.training.train_adapter` (TRL + PEFT).

The runner is called in a worker thread: it blocks for the whole run and reports through
the hooks it is given. PyTorch is imported only when a job trains, so the trainer's API
answers without it.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from distillery_students.domain.check import DataHook
from distillery_students.domain.settings import TrainingSettings
from distillery_students.progress import CancelCheck, CheckpointHook, ProgressHook


@dataclass(frozen=True)
class TrainingRun:
    """One run of one job; ``out`` is where the adapter directory appears."""

    data: Path
    settings: TrainingSettings
    out: Path
    dataset_id: str | None
    on_progress: ProgressHook
    on_checkpoint: CheckpointHook
    should_cancel: CancelCheck
    on_data: DataHook | None = None
    """Given what the run read (tokens, what max_length cuts, steps) before its first step."""


@dataclass(frozen=True)
class TrainedAdapter:
    """What a finished run left in ``out``."""

    directory: Path
    sha256: str
    bytes: int
    trained_tokens: int
    final_loss: float | None


class AbstractTrainingRunner(abc.ABC):
    @abc.abstractmethod
    def check_base_model(self, name_or_path: str) -> None:
        """Raise StudentError (one line) when the base model cannot be loaded here."""

    @abc.abstractmethod
    def train(self, run: TrainingRun) -> TrainedAdapter:
        """Train (or resume) and write the adapter; raises TrainingCancelled or StudentError."""


class StudentRunner(AbstractTrainingRunner):
    """The real thing; ``model_cache`` is where shipped base models are converted once."""

    def __init__(self, model_cache: Path | None) -> None:
        self.model_cache = model_cache

    def check_base_model(self, name_or_path: str) -> None:
        from distillery_students.base_models import resolve_base_model

        resolve_base_model(name_or_path, self.model_cache)

    def train(self, run: TrainingRun) -> TrainedAdapter:
        from distillery_students.training import train_adapter

        card = train_adapter(run.data, run.settings, run.out, dataset_id=run.dataset_id,
                             on_progress=run.on_progress, should_cancel=run.should_cancel,
                             on_checkpoint=run.on_checkpoint, on_data=run.on_data, cache_dir=self.model_cache)
        return TrainedAdapter(directory=run.out, sha256=card.adapter.sha256, bytes=card.adapter.bytes,
                              trained_tokens=round(card.dataset.tokens * card.epochs), final_loss=card.final_loss)


RunnerFactory = Callable[[], AbstractTrainingRunner]

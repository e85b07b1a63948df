"""In-memory stand-ins for the trainer's store and runner, for unit tests."""

from __future__ import annotations

import copy
import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

from distillery_students.domain.check import DataCheck
from distillery_students.domain.model_card import ADAPTER_FILE, SUMS_FILE
from distillery_students.errors import StudentError, TrainingCancelled
from distillery_students.progress import TrainingProgress
from distillery_trainer.adapters.runner import AbstractTrainingRunner, TrainedAdapter, TrainingRun
from distillery_trainer.adapters.store import AbstractTrainerStore, Page
from distillery_trainer.domain.job import UNFINISHED, Checkpoint, JobEvent, TrainingFile, TrainingJob


class FakeTrainerStore(AbstractTrainerStore):
    def __init__(self) -> None:
        self.files: dict[str, TrainingFile] = {}
        self.job_rows: dict[str, TrainingJob] = {}
        self.event_rows: dict[str, list[JobEvent]] = {}
        self.checkpoint_rows: dict[str, dict[int, Checkpoint]] = {}

    async def add_file(self, file: TrainingFile) -> None:
        self.files[file.file_id] = copy.deepcopy(file)

    async def get_file(self, file_id: str) -> TrainingFile | None:
        return copy.deepcopy(self.files.get(file_id))

    async def add_job(self, job: TrainingJob) -> None:
        self._keep(job)

    async def get_job(self, job_id: str, for_update: bool = False) -> TrainingJob | None:
        return copy.deepcopy(self.job_rows.get(job_id))

    async def save_job(self, job: TrainingJob) -> None:
        cancel = self.job_rows[job.job_id].cancel_requested
        self._keep(job)
        self.job_rows[job.job_id].cancel_requested = cancel

    async def request_cancel(self, job_id: str) -> None:
        self.job_rows[job_id].cancel_requested = True

    async def jobs(self, limit: int, after: str | None = None, metadata: dict[str, str] | None = None) -> Page:
        ordered = sorted(self.job_rows.values(), key=lambda j: (j.created_at, j.job_id), reverse=True)
        ordered = [j for j in ordered if all(j.metadata.get(k) == v for k, v in (metadata or {}).items())]
        return _page(ordered, [j.job_id for j in ordered], limit, after)

    async def unfinished(self, limit: int) -> list[str]:
        waiting = sorted((j for j in self.job_rows.values() if j.status.value in UNFINISHED),
                         key=lambda j: (j.created_at, j.job_id))
        return [j.job_id for j in waiting[:limit]]

    async def events(self, job_id: str, limit: int, after: str | None = None) -> Page:
        newest_first = list(reversed(self.event_rows.get(job_id, [])))
        return _page(newest_first, [e.event_id for e in newest_first], limit, after)

    async def add_checkpoint(self, job_id: str, checkpoint: Checkpoint) -> None:
        self.checkpoint_rows.setdefault(job_id, {}).setdefault(checkpoint.step, checkpoint)

    async def checkpoints(self, job_id: str, limit: int, after: str | None = None) -> Page:
        newest_first = sorted(self.checkpoint_rows.get(job_id, {}).values(), key=lambda c: c.step, reverse=True)
        return _page(newest_first, [c.checkpoint_id for c in newest_first], limit, after)

    def _keep(self, job: TrainingJob) -> None:
        self.event_rows.setdefault(job.job_id, []).extend(job.events)
        job.events.clear()
        self.job_rows[job.job_id] = copy.deepcopy(job)


def _page(items: list[Any], ids: list[str], limit: int, after: str | None) -> Page:
    if after is not None:
        if after not in ids:
            return [], False
        items = items[ids.index(after) + 1:]
    return copy.deepcopy(items[:limit]), len(items) > limit


@dataclass
class FakeTrainingRunner(AbstractTrainingRunner):
    """Trains in ``steps`` steps of nothing, checkpointing every ``checkpoint_every``.

    ``gate`` (when set) must be set before each step runs, so a test walks the run step by
    step; ``fail_with`` raises from the run; ``missing`` base models are refused.
    """

    steps: int = 4
    checkpoint_every: int = 2
    fail_with: Exception | None = None
    missing: set[str] = field(default_factory=set)
    gate: threading.Semaphore | None = None
    runs: list[TrainingRun] = field(default_factory=list)
    resumed_from: dict[str, int] = field(default_factory=dict)
    data_check: DataCheck | None = None
    """What the run says it read (``TrainingRun.on_data``), before its first step; None: nothing."""

    def check_base_model(self, name_or_path: str) -> None:
        if name_or_path in self.missing:
            raise StudentError(f"base model {name_or_path} does not exist: give a local checkpoint directory")

    def train(self, run: TrainingRun) -> TrainedAdapter:
        self.runs.append(run)
        if self.fail_with is not None:
            raise self.fail_with
        marker = run.out.parent / "last-step"
        start = int(marker.read_text()) if marker.exists() else 0
        self.resumed_from[str(run.out)] = start
        if self.data_check is not None and run.on_data is not None:
            run.on_data(self.data_check)
        for step in range(start + 1, self.steps + 1):
            if self.gate is not None:
                self.gate.acquire()
            if run.should_cancel():
                raise TrainingCancelled(f"training cancelled at step {step - 1}; nothing published")
            run.on_progress(TrainingProgress(step=step, total_steps=self.steps, epoch=step / self.steps,
                                             loss=1.0 / step, tokens_per_second=100.0, eta_seconds=self.steps - step,
                                             elapsed_seconds=float(step), resumed_from=start))
            if step % self.checkpoint_every == 0:
                run.out.parent.mkdir(parents=True, exist_ok=True)
                marker.write_text(str(step))
                run.on_checkpoint(step)
        run.out.mkdir(parents=True, exist_ok=True)
        weights = f"adapter of {run.settings.base_model} on {run.data.name}".encode()
        (run.out / ADAPTER_FILE).write_bytes(weights)
        digest = hashlib.sha256(weights).hexdigest()
        (run.out / SUMS_FILE).write_text(f"{digest}  {ADAPTER_FILE}\n")
        return TrainedAdapter(directory=run.out, sha256=digest, bytes=len(weights), trained_tokens=10 * self.steps,
                              final_loss=1.0 / self.steps)

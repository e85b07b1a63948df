"""The trainer's use cases: taking files and jobs through the API, and training them.

The API records what is asked (a checked file, a job waiting to train, a cancel request)
and returns at once. Training is the worker's: each instance takes the oldest unfinished
job nobody holds, under an advisory lock named after the job, so a job trains on one
instance at a time and never twice. The lock lives on a database connection: when a
trainer dies mid-run the server releases it, and the next trainer to look takes the job
over and resumes it from its last checkpoint (checkpoints live in the shared work
directory). A job that ended by an unexpected error is queued again, up to
``max_attempts`` runs, so a model that crashes the process cannot loop forever.
"""

from __future__ import annotations

import asyncio
import hashlib
import queue
import shutil
import threading
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from distillery_runtime.blobstore import AbstractBlobStore, sha256_of
from distillery_runtime.clock import utc_now
from distillery_runtime.infra import is_infrastructure_error
from distillery_runtime.locks import HeldLock, LockLost, advisory_lock
from distillery_runtime.logs import get_logger
from distillery_runtime.service import ServiceContext
from distillery_runtime.text import UnsafeInput, parse_json_line
from distillery_runtime.uow import UnitOfWork
from distillery_students.domain.check import DataCheck
from distillery_students.domain.dataset import DatasetError, read_examples
from distillery_students.domain.model_card import SUMS_FILE
from distillery_students.domain.settings import TrainingSettings
from distillery_students.errors import StudentError, TrainingCancelled
from distillery_students.progress import TrainingProgress
from distillery_trainer.adapters.runner import AbstractTrainingRunner, TrainedAdapter, TrainingRun
from distillery_trainer.adapters.store import AbstractTrainerStore
from distillery_trainer.config import TrainerSettings
from distillery_trainer.domain.hyperparameters import HyperparameterError, resolve
from distillery_trainer.domain.job import (
    Checkpoint,
    PublishedAdapter,
    Status,
    TrainingFile,
    TrainingJob,
    checkpoint_name,
    new_id,
)
from distillery_trainer.domain.openai_api import CreateJob

log = get_logger(__name__)

StoreFactory = Callable[[UnitOfWork], AbstractTrainerStore]
DATA_FILE = "data.jsonl"
LOOK_AHEAD = 50


class Refused(Exception):
    """A request the API answers with an error; ``str()`` is the one line it shows."""

    def __init__(self, message: str, *, status: int = 400, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.param, self.code = status, param, code


def offered_models(settings: TrainerSettings) -> dict[str, str]:
    """Base models this trainer trains, name → what it loads (a shipped short name or a path)."""
    from distillery_students.base_models import SHORT_NAMES

    shipped = {name: name for name, source in SHORT_NAMES.items() if source.path() is not None}
    return {**shipped, **settings.base_models}


@dataclass
class Trainer:
    """Everything the use cases need, injected; ``new_uow`` comes from the running service."""

    settings: TrainerSettings
    blobs: AbstractBlobStore
    runner: AbstractTrainingRunner
    store_in: StoreFactory
    work_root: Path
    new_uow: Callable[[], UnitOfWork]
    now: Callable[[], datetime] = field(default=utc_now)

    # --- the API ------------------------------------------------------------------------

    async def upload_file(self, filename: str, data: bytes, purpose: str) -> TrainingFile:
        """Check every line and keep the file; a bad file is kept as ``error`` with the first bad line."""
        if purpose != "fine-tune":
            raise Refused(f"purpose {purpose!r} is not supported: this trainer takes 'fine-tune' files",
                          param="purpose")
        if len(data) > self.settings.max_upload_bytes:
            raise Refused(f"{filename} is {len(data):,} bytes, over the limit of "
                          f"{self.settings.max_upload_bytes:,} (DISTILLERY_TRAINER_MAX_UPLOAD_BYTES)",
                          status=413, param="file")
        file_id = new_id("file")
        examples, problem = _check_lines(filename, data)
        record = TrainingFile(file_id=file_id, filename=filename, purpose=purpose, bytes=len(data),
                              sha256=hashlib.sha256(data).hexdigest(), examples=examples,
                              status="error" if problem else "processed", status_details=problem,
                              created_at=self.now())
        if problem is None:
            await asyncio.to_thread(self._keep_file, file_id, data)
        async with self.new_uow() as uow:
            await self.store_in(uow).add_file(record)
            await uow.commit()
        log.info("file uploaded", file_id=file_id, filename=filename, bytes=len(data), examples=examples,
                 status=record.status, problem=problem)
        return record

    def _keep_file(self, file_id: str, data: bytes) -> None:
        staged = self.blobs.staging_dir(f"files/{file_id}")
        (staged / DATA_FILE).write_bytes(data)
        self.blobs.publish(f"files/{file_id}", staged, last=DATA_FILE)

    async def create_job(self, request: CreateJob) -> TrainingJob:
        offered = offered_models(self.settings)
        if request.model not in offered:
            raise Refused(f"Model {request.model} is not available for fine-tuning on this trainer (it offers "
                          f"{', '.join(sorted(offered)) or 'none'}; DISTILLERY_TRAINER_BASE_MODELS adds more)",
                          param="model", code="model_not_available")
        try:
            settings = resolve(offered[request.model], self.settings.defaults, request.requested(), request.seed)
        except HyperparameterError as exc:
            raise Refused(str(exc), param="hyperparameters") from None
        now = self.now()
        job = TrainingJob(job_id=new_id("ftjob"), base_model=request.model, training_file=request.training_file,
                          validation_file=request.validation_file, suffix=request.suffix, seed=request.seed,
                          metadata=request.metadata or {}, requested=request.requested().model_dump(),
                          settings=settings.model_dump(mode="json"), created_at=now)
        async with self.new_uow() as uow:
            store = self.store_in(uow)
            for param, file_id in (("training_file", request.training_file),
                                   ("validation_file", request.validation_file)):
                if file_id is not None:
                    await _usable_file(store, file_id, param)
            job.say(now, f"Validating training file: {request.training_file}")
            await store.add_job(job)
            await uow.commit()
        log.info("fine-tuning job created", job_id=job.job_id, model=job.base_model, training_file=job.training_file)
        return job

    async def cancel_job(self, job_id: str) -> TrainingJob:
        """A job no trainer runs is cancelled now; a running one at its next step."""
        async with self.new_uow() as uow:
            store = self.store_in(uow)
            job = await store.get_job(job_id, for_update=True)
            if job is None:
                raise Refused(f"No fine-tuning job found with id {job_id}", status=404, param="fine_tuning_job_id")
            if job.finished:
                raise Refused(f"Job {job_id} has already {job.status.value}; it cannot be cancelled",
                              code="job_finished")
            if job.status is not Status.RUNNING:
                job.cancel(self.now())
                await store.save_job(job)
            await store.request_cancel(job_id)
            await uow.commit()
        log.info("cancel requested", job_id=job_id, status=job.status.value)
        return job

    # --- the worker ---------------------------------------------------------------------

    async def step(self, ctx: ServiceContext) -> bool:
        """Train the oldest job no other trainer holds; True when one ran (look again at once)."""
        async with self.new_uow() as uow:
            waiting = await self.store_in(uow).unfinished(LOOK_AHEAD)
        for job_id in waiting:
            async with advisory_lock(ctx.engine, f"trainer:job:{job_id}") as held:
                if held is None:
                    continue  # another trainer has it
                await self.run_job(job_id, held)
                return True
        return False

    async def run_job(self, job_id: str, held: HeldLock) -> None:
        job = await self._load(job_id)
        if job is None or job.finished:
            return  # finished by the trainer that held it before us
        if job.cancel_requested:
            await self._save(job, lambda j: j.cancel(self.now()))
            return
        if job.attempts >= self.settings.max_attempts:
            await self._fail(job, "too_many_attempts",
                             f"gave up after {job.attempts} runs that ended unexpectedly (see the trainer's log)")
            return
        work = self.work_root / job.job_id
        try:
            data = await asyncio.to_thread(self._fetch, job.training_file, work)
            settings = TrainingSettings.model_validate(job.settings)
            if job.status is Status.VALIDATING_FILES:
                await asyncio.to_thread(self.runner.check_base_model, settings.base_model)
                await self._save(job, lambda j: j.move_to(Status.QUEUED, self.now(),
                                                          "Files validated, moving job to queued state"))
        except (StudentError, FileNotFoundError) as exc:
            await self._fail(job, "invalid_base_model" if isinstance(exc, StudentError) else "file_missing", str(exc))
            return
        resumed = job.status is Status.RUNNING

        def started(j: TrainingJob) -> None:
            j.attempts += 1
            j.move_to(Status.RUNNING, self.now(), f"Fine-tuning job {'resumed' if resumed else 'started'} "
                                                  f"(run {j.attempts} of at most {self.settings.max_attempts})")

        await self._save(job, started)
        if job.status is Status.RUNNING:  # not cancelled while it was being validated
            await self._train(job, settings, data, work, held)

    async def _train(self, job: TrainingJob, settings: TrainingSettings, data: Path, work: Path,
                     held: HeldLock) -> None:
        run = _Monitor(self, job)
        training = asyncio.create_task(asyncio.to_thread(self.runner.train, TrainingRun(
            data=data, settings=settings, out=work / "adapter", dataset_id=job.metadata.get("distillery_dataset_id"),
            on_progress=run.progress.put, on_checkpoint=run.checkpoints.put, should_cancel=run.stop.is_set,
            on_data=run.data.put)))
        while not training.done():
            await asyncio.wait([training], timeout=self.settings.progress_flush_s)
            if await run.flush():
                run.stop.set()
            try:
                await held.check()
            except LockLost:
                run.lost = True
                run.stop.set()
        try:
            adapter = training.result()
        except TrainingCancelled:
            if run.lost:
                log.warning("lost the job's lock; stopped training it", job_id=job.job_id)
                return
            await self._save(job, lambda j: j.cancel(self.now()))
        except (StudentError, DatasetError) as exc:
            await self._fail(job, "training_failed", str(exc))
        except Exception as exc:
            if is_infrastructure_error(exc):
                raise
            log.exception("training ended unexpectedly; the job is queued again", job_id=job.job_id)
            await self._save(job, lambda j: j.move_to(
                Status.QUEUED, self.now(), f"Run {j.attempts} ended unexpectedly ({type(exc).__name__}: {exc}); "
                "the job is queued again"))
        else:
            await self._publish(job, adapter, work)

    async def _publish(self, job: TrainingJob, adapter: TrainedAdapter, work: Path) -> None:
        name = f"adapters/{job.job_id}"
        published = await asyncio.to_thread(self._publish_files, name, adapter.directory)
        await self._save(job, lambda j: j.succeed(self.now(), PublishedAdapter(
            uri=published, sha256=adapter.sha256, bytes=adapter.bytes), adapter.trained_tokens))
        shutil.rmtree(work, ignore_errors=True)
        log.info("adapter published", job_id=job.job_id, uri=published, sha256=adapter.sha256,
                 final_loss=adapter.final_loss)

    def _publish_files(self, name: str, directory: Path) -> str:
        files = sorted(p for p in directory.iterdir() if p.is_file())
        expected = {p.name: (sha256_of(p), p.stat().st_size) for p in files}
        if not self.blobs.is_complete(name, expected):  # a run killed after publishing published it already
            staged = self.blobs.staging_dir(name)
            for path in files:
                shutil.copy2(path, staged / path.name)
            self.blobs.publish(name, staged, last=SUMS_FILE)
        return self.blobs.uri(name, "").rstrip("/")

    def _fetch(self, file_id: str, work: Path) -> Path:
        try:
            return self.blobs.fetch(f"files/{file_id}", DATA_FILE, work / DATA_FILE)
        except FileNotFoundError:
            raise FileNotFoundError(f"training file {file_id} is no longer in the blob store") from None

    async def _load(self, job_id: str) -> TrainingJob | None:
        async with self.new_uow() as uow:
            return await self.store_in(uow).get_job(job_id)

    async def _save(self, job: TrainingJob, change: Callable[[TrainingJob], None]) -> TrainingJob:
        """Apply ``change`` to the job as stored now (row-locked) and commit it with its events;
        a finished job is left as it is. ``job`` becomes the job as stored."""
        async with self.new_uow() as uow:
            store = self.store_in(uow)
            current = await store.get_job(job.job_id, for_update=True)
            if current is None:
                raise LookupError(f"job {job.job_id} vanished from the database")
            if not current.finished:  # a job cancelled meanwhile stays cancelled
                change(current)
                await store.save_job(current)
                await uow.commit()
        job.__dict__.update(current.__dict__)
        return current

    async def _fail(self, job: TrainingJob, code: str, message: str) -> None:
        log.warning("fine-tuning job failed", job_id=job.job_id, code=code, error=message)
        await self._save(job, lambda j: j.fail(self.now(), code, message))


class _Monitor:
    """What a training thread reports, written to the job by the event loop every flush."""

    def __init__(self, trainer: Trainer, job: TrainingJob) -> None:
        self.trainer, self.job = trainer, job
        self.progress: queue.SimpleQueue[TrainingProgress] = queue.SimpleQueue()
        self.checkpoints: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.data: queue.SimpleQueue[DataCheck] = queue.SimpleQueue()
        self.stop = threading.Event()
        self.lost = False
        self.last_loss: float | None = None

    async def flush(self) -> bool:
        """Write new progress events and checkpoints; whether a cancel was asked for."""
        now = self.trainer.now()
        reports = _drain(self.progress)
        steps = _drain(self.checkpoints)
        checks = _drain(self.data)
        async with self.trainer.new_uow() as uow:
            store = self.trainer.store_in(uow)
            job = await store.get_job(self.job.job_id, for_update=True)
            if job is None:
                return True
            for check in checks:  # what the run read, before its first step
                job.say(now, check.summary(), data=_data_facts(check))
                if (warning := check.warning()) is not None:
                    job.say(now, warning, level="warn")
            for report in reports:
                self.last_loss = report.loss
                job.say(now, _step_message(report), type="metrics", data=_step_data(report))
            for step in steps:
                metrics = {"step": float(step)} | ({"train_loss": self.last_loss} if self.last_loss is not None else {})
                await store.add_checkpoint(job.job_id, Checkpoint(new_id("ftckpt"), now, step, metrics,
                                                                  checkpoint_name(job, step)))
            if reports or checks:
                await store.save_job(job)
            await uow.commit()
        return job.cancel_requested


def _data_facts(check: DataCheck) -> dict[str, Any]:
    return {"examples": check.examples, "trained_examples": check.usable, "tokens_per_epoch": check.tokens_per_epoch,
            "learned_tokens_per_epoch": check.learned_per_epoch, "steps": check.steps,
            "max_length": check.settings.max_length, "cut": len(check.cut_lines),
            "answers_cut": len(check.partial_lines), "skipped": len(check.unusable_lines)}


def _drain(source: queue.SimpleQueue[Any]) -> list[Any]:
    items = []
    while True:
        try:
            items.append(source.get_nowait())
        except queue.Empty:
            return items


def _step_message(report: TrainingProgress) -> str:
    loss = f"{report.loss:.4f}" if report.loss is not None else "n/a"
    return f"Step {report.step}/{report.total_steps}: training loss={loss}"


def _step_data(report: TrainingProgress) -> dict[str, Any]:
    return {"step": report.step, "total_steps": report.total_steps, "train_loss": report.loss,
            "epoch": round(report.epoch, 4), "tokens_per_second": report.tokens_per_second,
            "eta_s": round(report.eta_seconds, 1) if report.eta_seconds is not None else None,
            "resumed_from": report.resumed_from}


def _check_lines(filename: str, data: bytes) -> tuple[int, str | None]:
    """How many examples the file holds, and the first problem (None when every line is usable)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[:exc.start].count(b"\n") + 1
        return 0, f"{filename} line {bad}: not UTF-8 text"
    lines = text.split("\n")  # not splitlines(): U+2028 and its kin are legal inside a JSON string
    for number, line in enumerate(lines, 1):  # what would fail training, not parsing: see runtime.text
        try:
            parsed = parse_json_line(line, max_bytes=None)
        except UnsafeInput as exc:
            if exc.code == "invalid_json":
                continue  # read_examples reports every line that is not JSON
            return 0, f"{filename} line {number}: {exc.reason}"
        if parsed is not None and parsed.refused:
            return 0, f"{filename} line {number}: {parsed.refused}"
    try:
        return len(read_examples(lines, source=filename)), None
    except DatasetError as exc:
        return 0, str(exc)


async def _usable_file(store: AbstractTrainerStore, file_id: str, param: str) -> None:
    file = await store.get_file(file_id)
    if file is None:
        raise Refused(f"invalid {param}: no file with id {file_id}", param=param)
    if not file.usable:
        raise Refused(f"invalid {param}: {file_id} cannot be trained on: {file.status_details}",
                      param=param, code="invalid_file")

"""One simulated provider account (an OpenAI organisation or an Azure OpenAI resource):
its files, jobs, models and, on Azure, deployments."""

from __future__ import annotations

import csv
import io
import random
from concurrent.futures import Executor, Future
from typing import Literal

from distillery_sandbox.openai.chat_models import ChatModel
from distillery_sandbox.openai.config import SandboxConfig
from distillery_sandbox.openai.deployments import DeploymentStore
from distillery_sandbox.openai.errors import ApiError
from distillery_sandbox.openai.files import FileRecord, FileStore, new_id
from distillery_sandbox.openai.job_records import JobError, JobRecord
from distillery_sandbox.openai.job_requests import read_job_request
from distillery_sandbox.openai.jobs import JobScheduler, Preparation
from distillery_sandbox.openai.registry import FineTunedModel, ModelRegistry
from distillery_sandbox.openai.student import StudentModel
from distillery_sandbox.openai.training_file import TrainingFileError, read_training_file
from distillery_sandbox.openai.training_run import resolve_hyperparameters
from distillery_sandbox.workload import KnowledgeBase

Flavour = Literal["openai", "azure"]


class Account:
    """The state behind one flavour's API. Reading a file and learning from it happen on
    `executor`, so a large training file never blocks the server."""

    def __init__(self, flavour: Flavour, config: SandboxConfig, executor: Executor):
        self.flavour, self.config, self._executor = flavour, config, executor
        self.hex_ids = flavour == "azure"
        self.files = FileStore(self.hex_ids)
        self.registry = ModelRegistry(config.models, config.knowledge_base, self._student,
                                      config.current_date, config.teacher_drift)
        self.jobs = JobScheduler(config.timings, config.max_running_jobs[flavour], self,
                                 self.hex_ids)
        self.deployments: DeploymentStore | None = None
        if flavour == "azure":
            self.deployments = DeploymentStore(config.azure.account, config.timings.of("deployment"),
                                               config.azure.idle_days)
            for name, model in config.azure.deployments.items():
                self.deployments.preset(name, model, self.now())
        self.training_data: dict[str, tuple[bytes, bytes | None]] = {}
        self._preparing: dict[str, Future[tuple[Preparation, StudentModel | None]]] = {}
        self._students: dict[str, StudentModel] = {}

    def now(self) -> float:
        return self.config.clock.now()

    def upload_file(self, filename: str, purpose: str, content: bytes) -> FileRecord:
        delay = self.config.timings.of("file_processing") if self.flavour == "azure" else 0.0
        return self.files.add(filename, purpose, content, self.now(), delay)

    def create_job(self, body: object) -> JobRecord:
        now = self.now()
        self.jobs.advance(now)
        request = read_job_request(body, self.flavour)
        base = self.registry.fine_tunable(request.model)
        train = self._fine_tune_file(request.training_file, "training_file")
        valid = (self._fine_tune_file(request.validation_file, "validation_file")
                 if request.validation_file else None)
        content = self.files.content(train.id)
        lines = sum(1 for line in content.split(b"\n") if line.strip())
        job = JobRecord(
            id=new_id("ftjob-", self.hex_ids), flavour=self.flavour, model=request.model,
            snapshot=base.snapshot, training_file=train.id,
            validation_file=valid.id if valid else None, suffix=request.suffix,
            seed=request.seed if request.seed is not None else random.randrange(2**31),
            metadata=request.metadata,
            hyperparameters=resolve_hyperparameters(request.hyperparameters, lines),
            created_at=now, phase_started_at=now, run_seconds=self.config.timings.of("running"),
            files_ready_at=max(now, train.processed_at, valid.processed_at if valid else now),
        )
        self.training_data[job.id] = (content, self.files.content(valid.id) if valid else None)
        self._start_preparing(job.id)
        self.jobs.add(job)
        self.jobs.advance(now)
        return job

    def list_jobs(self, metadata: dict[str, str] | Literal["null"] | None) -> list[JobRecord]:
        """Newest first; `metadata` keeps jobs whose metadata has every given pair, and
        "null" keeps jobs created without metadata."""
        self.jobs.advance(self.now())
        jobs = list(self.jobs.jobs.values())[::-1]
        if metadata == "null":
            return [job for job in jobs if not job.metadata]
        if metadata:
            return [job for job in jobs
                    if all((job.metadata or {}).get(k) == v for k, v in metadata.items())]
        return jobs

    def job(self, job_id: str) -> JobRecord:
        self.jobs.advance(self.now())
        return self.jobs.get(job_id)

    def brain(self, model_id: str) -> ChatModel:
        return self.registry.brain(model_id)

    def relearn(self) -> None:
        """After a restore: read every job's files again (students live only in memory)."""
        for job_id in self.training_data:
            if job_id not in self._preparing:
                self._start_preparing(job_id)

    def settle(self, timeout: float | None = None) -> None:
        """Wait until every started file check has finished (tests use it)."""
        for future in list(self._preparing.values()):
            future.result(timeout)

    # JobHooks -------------------------------------------------------------------------

    def preparation(self, job: JobRecord) -> Preparation | None:
        future = self._preparing.get(job.id)
        if future is None or not future.done() or future.cancelled():
            return None
        return future.result()[0]

    def model_name(self, job: JobRecord) -> str:
        if self.flavour == "azure":
            return f"{job.snapshot}.ft-{job.id.removeprefix('ftjob-')}" + (
                f"-{job.suffix}" if job.suffix else "")
        return f"ft:{job.snapshot}:{self.config.organization}:{job.suffix or ''}:{job.id[-8:]}"

    def on_succeeded(self, job: JobRecord, at: float) -> None:
        base = self.registry.base(job.snapshot)
        self.registry.add(FineTunedModel(
            id=job.fine_tuned_model or self.model_name(job), job_id=job.id, base=job.snapshot,
            created=int(at), owned_by=self._owner(),
            shutdown_date=base.shutdown_date if base else None,
        ))
        results = self.files.add("step_metrics.csv", "fine-tune-results", _metrics_csv(job), at)
        job.result_files = [results.id]

    # ----------------------------------------------------------------------------------

    def _owner(self) -> str:
        return f"user-{self.config.organization}" if self.flavour == "openai" else "azure"

    def _fine_tune_file(self, file_id: str, param: str) -> FileRecord:
        record = self.files.records.get(file_id)
        if record is None:
            raise ApiError(400, f"invalid {param}: {file_id} (no such file)", param=param,
                           code="invalid_file")
        if record.purpose != "fine-tune":
            raise ApiError(400, f"File {file_id} has purpose '{record.purpose}'; fine-tuning "
                                "needs files uploaded with purpose 'fine-tune'.", param=param,
                           code="invalid_file")
        return record

    def _start_preparing(self, job_id: str) -> None:
        train, valid = self.training_data[job_id]
        self._preparing[job_id] = self._executor.submit(
            prepare, self.config.knowledge_base, train, valid,
            self.config.min_examples_per_intent, self.config.clock.now)

    def _student(self, model: FineTunedModel) -> StudentModel:
        student = self._students.get(model.job_id)
        if student is None:
            future = self._preparing.get(model.job_id)
            if future is None:  # restored from a snapshot: learn again from the file
                self._start_preparing(model.job_id)
                future = self._preparing[model.job_id]
            student = future.result()[1]
            if student is None:
                raise ApiError(500, f"The model {model.id} cannot be loaded.", code="server_error")
            self._students[model.job_id] = student
        return student


def prepare(kb: KnowledgeBase, train: bytes, valid: bytes | None, min_examples: int,
            now) -> tuple[Preparation, StudentModel | None]:
    """Validate a job's files and learn from the training file (runs on the executor)."""
    try:
        training = read_training_file(train)
    except TrainingFileError as exc:
        return _failed(now(), "invalid_training_file", "training_file",
                       f"The job failed due to an invalid training file. {exc}"), None
    if valid is not None:
        try:
            read_training_file(valid, min_examples=1)
        except TrainingFileError as exc:
            return _failed(now(), "invalid_validation_file", "validation_file",
                           f"The job failed due to an invalid validation file. {exc}"), None
    try:
        student = StudentModel.learn_from(kb, training.examples, min_examples)
    except Exception as exc:  # the sandbox's own bug must fail the job, not hang it
        return _failed(now(), "server_error", None, f"Training failed: {exc!r}"), None
    share = student.summary().defect_share
    return Preparation(now(), None, len(training), training.tokens, share), student


def _failed(at: float, code: str, param: str | None, message: str) -> Preparation:
    return Preparation(at, JobError(code=code, message=message, param=param))


def _metrics_csv(job: JobRecord) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy"])
    for event in job.events:
        if event.type == "metrics":
            d = event.data
            writer.writerow([d["step"], d["train_loss"], d["train_mean_token_accuracy"],
                             d["valid_loss"], d["valid_mean_token_accuracy"]])
    return out.getvalue().encode()

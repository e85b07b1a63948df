"""Fine-tuning jobs as a state machine driven by time.

created -> validating_files -> queued -> running (<-> paused) -> succeeded, or failed /
cancelled. Nothing ticks in the background: `advance(now)` replays every transition due
by `now`, in time order, so a job's timestamps are the moments things happened, not the
moments somebody looked. At most `max_running` jobs train at once; the rest wait in
the queue and start in the order they were created.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from distillery_sandbox.openai.config import JobTimings
from distillery_sandbox.openai.errors import ApiError
from distillery_sandbox.openai.files import new_id
from distillery_sandbox.openai.job_records import HOLDS_SLOT, JobError, JobEvent, JobRecord
from distillery_sandbox.openai.training_run import plan_run, trained_tokens


@dataclass(frozen=True)
class Preparation:
    """The outcome of reading a job's files (done off the request path)."""

    finished_at: float
    error: JobError | None = None
    examples: int = 0
    tokens: int = 0
    defect_share: float = 0.0


class JobHooks(Protocol):
    """What the scheduler asks of the account that owns the jobs."""

    def preparation(self, job: JobRecord) -> Preparation | None: ...

    def model_name(self, job: JobRecord) -> str: ...

    def on_succeeded(self, job: JobRecord, at: float) -> None: ...


class JobScheduler:
    """The jobs of one account and the rules that move them along."""

    def __init__(self, timings: JobTimings, max_running: int, hooks: JobHooks, hex_ids: bool):
        self.timings, self.max_running, self.hooks, self.hex_ids = (
            timings, max_running, hooks, hex_ids)
        self.jobs: dict[str, JobRecord] = {}
        self.slot_freed_at = 0.0

    def add(self, job: JobRecord) -> JobRecord:
        self.jobs[job.id] = job
        self._log(job, job.created_at, f"Created fine-tuning job: {job.id}")
        return job

    def get(self, job_id: str) -> JobRecord:
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"Could not find fine-tuning job: {job_id}",
                           param="fine_tuning_job_id", code="fine_tuning_job_not_found")
        return job

    def advance(self, now: float) -> None:
        """Apply every transition due by `now`, earliest first, then reveal progress."""
        while True:
            due = [(at, order, job) for order, job in enumerate(self.jobs.values())
                   if (at := self._due(job)) is not None and at <= now]
            if not due:
                break
            at, _, job = min(due, key=lambda item: item[:2])
            self._transition(job, at)
        for job in self.jobs.values():
            if job.status in HOLDS_SLOT:
                self._reveal(job, now)

    def cancel(self, job_id: str, now: float) -> JobRecord:
        job = self._active(job_id, "cancel", now)
        self._finish(job, "cancelled", now)
        self._log(job, now, "Fine-tuning job cancelled")
        return job

    def pause(self, job_id: str, now: float) -> JobRecord:
        job = self._active(job_id, "pause", now)
        if job.status != "running":
            raise ApiError(400, f"Only a running job can be paused; {job.id} is {job.status}.",
                           code="invalid_job_state")
        job.status, job.paused_at = "paused", now
        self._log(job, now, "Fine-tuning job paused")
        return job

    def resume(self, job_id: str, now: float) -> JobRecord:
        job = self._active(job_id, "resume", now)
        if job.status != "paused" or job.paused_at is None:
            raise ApiError(400, f"Only a paused job can be resumed; {job.id} is {job.status}.",
                           code="invalid_job_state")
        job.paused_total += now - job.paused_at
        job.status, job.paused_at = "running", None
        self._log(job, now, "Fine-tuning job resumed")
        return job

    def _active(self, job_id: str, verb: str, now: float) -> JobRecord:
        self.advance(now)
        job = self.get(job_id)
        if job.terminal:
            raise ApiError(400, f"Cannot {verb} job {job.id}: it has already {job.status}.",
                           code="invalid_job_state", azure_code="conflict")
        return job

    def _due(self, job: JobRecord) -> float | None:
        if job.status == "created":
            return job.files_ready_at
        if job.status == "validating_files":
            ready = self.hooks.preparation(job)
            if ready is None:
                return None
            return max(job.phase_started_at + self.timings.of("validating"), ready.finished_at)
        if job.status == "queued":
            if job.id not in self._next_in_line():
                return None
            return max(job.phase_started_at + self.timings.of("queued"), self.slot_freed_at)
        return job.run_end()

    def _next_in_line(self) -> set[str]:
        busy = sum(1 for job in self.jobs.values() if job.status in HOLDS_SLOT)
        waiting = [job for job in self.jobs.values() if job.status == "queued"]  # by creation
        return {job.id for job in waiting[: max(0, self.max_running - busy)]}

    def _transition(self, job: JobRecord, at: float) -> None:
        if job.status == "created":
            self._enter(job, "validating_files", at)
            files = job.training_file + (f" and {job.validation_file}" if job.validation_file else "")
            self._log(job, at, f"Validating training file: {files}")
        elif job.status == "validating_files":
            self._validated(job, at)
        elif job.status == "queued":
            self._enter(job, "running", at)
            job.started_at = at
            self._log(job, at, "Fine-tuning job started")
        elif job.status == "running":
            self._reveal(job, at, everything=True)
            job.fine_tuned_model = self.hooks.model_name(job)
            job.trained_tokens = trained_tokens(job.training_tokens or 0, job.hyperparameters)
            self._finish(job, "succeeded", at)
            self.hooks.on_succeeded(job, at)
            self._log(job, at, "New fine-tuned model created")
            self._log(job, at, "The job has successfully completed")

    def _validated(self, job: JobRecord, at: float) -> None:
        ready = self.hooks.preparation(job)
        assert ready is not None  # _due only lets a prepared job through
        if ready.error is not None:
            job.error = ready.error
            self._finish(job, "failed", at)
            self._log(job, at, f"The job failed: {ready.error.message}", level="error")
            return
        job.examples, job.training_tokens = ready.examples, ready.tokens
        job.plan = plan_run(job.id, job.seed, job.hyperparameters, ready.examples,
                            ready.defect_share, self.hex_ids)
        self._enter(job, "queued", at)
        self._log(job, at, "Files validated, moving job to queued state")
        if job.id not in self._next_in_line():
            self._log(job, at, "Job enqueued. Waiting for jobs ahead to complete.")

    def _reveal(self, job: JobRecord, now: float, everything: bool = False) -> None:
        """Move planned events and checkpoints whose training time has come into view."""
        done = math.inf if everything else job.trained_for(now) + 1e-3
        while job.plan and job.plan[0].fraction * job.run_seconds <= done:
            item = job.plan.pop(0)
            at = (job.started_at or now) + job.paused_total + item.fraction * job.run_seconds
            if item.event is not None:
                job.events.append(item.event.model_copy(update={"created_at": at}))
            if item.checkpoint is not None:
                job.checkpoints.append(item.checkpoint.model_copy(update={"created_at": at}))

    def _enter(self, job: JobRecord, status: str, at: float) -> None:
        job.status, job.phase_started_at = status, at  # type: ignore[assignment]

    def _finish(self, job: JobRecord, status: str, at: float) -> None:
        if job.status in HOLDS_SLOT:
            self.slot_freed_at = max(self.slot_freed_at, at)
        self._enter(job, status, at)
        job.finished_at, job.plan = at, []

    def _log(self, job: JobRecord, at: float, message: str, level: str = "info") -> None:
        job.events.append(JobEvent(id=new_id("ftevent-", self.hex_ids), created_at=at,
                                   message=message, level=level))  # type: ignore[arg-type]

"""In-memory twins of the controller's stores and provider, for unit tests.

The stores keep copies, as a database would, and run the same contract suites as their
SQL twins (tests/test_*_contract.py here, tests/integration/test_finetune_*_contract.py);
the provider records every call and does what the test tells it.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from distillery_contracts.finetune import JobError, JobStatus
from distillery_finetune_controller.adapters.job_store import AbstractJobStore
from distillery_finetune_controller.adapters.model_store import AbstractModelStore
from distillery_finetune_controller.adapters.providers.base import AbstractFineTuneProvider
from distillery_finetune_controller.domain.job import ACTIVE_PHASES, Job, Phase
from distillery_finetune_controller.domain.lifecycle import ModelLifecycle
from distillery_finetune_controller.domain.provider_types import (
    Deployment,
    FileState,
    JobRequest,
    ProviderCheckpoint,
    ProviderEvent,
    ProviderFile,
    ProviderJob,
    ProviderUnavailable,
    find_own_job,
)
from distillery_finetune_controller.domain.registry import ModelStatus, RegisteredModel, StatusChange
from distillery_finetune_controller.domain.status import OPENAI_STATUSES, map_status
from distillery_runtime.fencing import LostLease


class FakeJobStore(AbstractJobStore):
    """Jobs in dicts; ``save`` keeps the stored cancel request, as the SQL store does."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.accounts: dict[str, str] = {}
        self.files: dict[tuple[str, str], str] = {}
        self.history_rows: dict[str, list[tuple[JobStatus, datetime]]] = {}
        self.event_rows: dict[str, dict[str, ProviderEvent]] = {}
        self.checkpoint_rows: dict[str, dict[str, ProviderCheckpoint]] = {}
        self.tokens: dict[str, int] = {}

    async def add(self, job: Job, account: str) -> bool:
        if job.job_id in self.jobs:
            return False
        self.jobs[job.job_id] = copy.deepcopy(job)
        self.accounts[job.job_id] = account
        return True

    async def take_lead(self, name: str) -> int:
        self.tokens[name] = self.tokens.get(name, 0) + 1
        return self.tokens[name]

    async def hold_lead(self, name: str, token: int) -> None:
        if self.tokens.get(name) != token:
            raise LostLease(f"{name}: token {token} was superseded by {self.tokens.get(name)}")

    async def get(self, job_id: str) -> Job | None:
        return copy.deepcopy(self.jobs.get(job_id))

    async def save(self, job: Job) -> None:
        stored = self.jobs[job.job_id]
        saved = copy.deepcopy(job)
        saved.cancel_requested, saved.cancel_reason = stored.cancel_requested, stored.cancel_reason
        self.jobs[job.job_id] = saved

    async def move(self, job_id: str, account: str) -> None:
        self.accounts[job_id] = account

    async def request_cancel(self, job_id: str, reason: str | None) -> None:
        self.jobs[job_id].cancel_requested = True
        self.jobs[job_id].cancel_reason = reason

    async def due(self, account: str, now: datetime, limit: int = 100) -> list[Job]:
        found = [j for j in self.jobs.values() if self.accounts[j.job_id] == account
                 and j.phase is not Phase.DONE
                 and (j.next_check_at <= now or (j.cancel_requested and not j.cancel_sent))]
        return [copy.deepcopy(j) for j in sorted(found, key=lambda j: (j.created_at, j.job_id))[:limit]]

    async def resume_all(self, account: str, now: datetime) -> int:
        unfinished = [j for j in self.jobs.values() if self.accounts[j.job_id] == account and j.phase is not Phase.DONE]
        for job in unfinished:
            job.next_check_at = now
        return len(unfinished)

    async def count_active(self, account: str) -> int:
        return sum(1 for j in self.jobs.values() if self.accounts[j.job_id] == account and j.phase in ACTIVE_PHASES)

    async def provider_job_ids(self, account: str) -> set[str]:
        return {j.provider_job_id for j in self.jobs.values()
                if self.accounts[j.job_id] == account and j.provider_job_id}

    async def find_file(self, account: str, sha256: str) -> str | None:
        return self.files.get((account, sha256))

    async def remember_file(self, account: str, sha256: str, file_id: str, filename: str,
                            size_bytes: int, at: datetime) -> None:
        self.files[(account, sha256)] = file_id

    async def record_status(self, job_id: str, status: JobStatus, at: datetime) -> None:
        rows = self.history_rows.setdefault(job_id, [])
        if status not in [s for s, _ in rows]:
            rows.append((status, at))

    async def add_events(self, job_id: str, events: list[ProviderEvent]) -> int:
        stored = self.event_rows.setdefault(job_id, {})
        new = [e for e in events if e.event_id not in stored]
        stored.update({e.event_id: e for e in new})
        return len(new)

    async def add_checkpoints(self, job_id: str, checkpoints: list[ProviderCheckpoint]) -> int:
        stored = self.checkpoint_rows.setdefault(job_id, {})
        new = [c for c in checkpoints if c.checkpoint_id not in stored]
        stored.update({c.checkpoint_id: c for c in new})
        return len(new)

    async def list_jobs(self, limit: int = 50) -> list[Job]:
        ordered = sorted(self.jobs.values(), key=lambda j: (j.created_at, j.job_id), reverse=True)
        return [copy.deepcopy(j) for j in ordered[:limit]]

    async def history(self, job_id: str) -> list[tuple[JobStatus, datetime]]:
        return list(self.history_rows.get(job_id, []))

    async def events(self, job_id: str) -> list[ProviderEvent]:
        return sorted(self.event_rows.get(job_id, {}).values(), key=lambda e: (e.created_at, e.event_id))

    async def checkpoints(self, job_id: str) -> list[ProviderCheckpoint]:
        return sorted(self.checkpoint_rows.get(job_id, {}).values(), key=lambda c: c.step)


class FakeModelStore(AbstractModelStore):
    """The registry in a dict, by fine-tuned model id."""

    def __init__(self) -> None:
        self.models: dict[str, RegisteredModel] = {}

    async def register(self, model: RegisteredModel) -> bool:
        if model.fine_tuned_model in self.models:
            return False
        self.models[model.fine_tuned_model] = model
        return True

    async def concerned(self, names: Iterable[str]) -> list[RegisteredModel]:
        wanted = set(names)
        return [m for m in self.models.values() if m.names() & wanted or m.status is ModelStatus.PRODUCTION]

    async def apply(self, change: StatusChange, at: datetime) -> None:
        model = self.models[change.fine_tuned_model]
        releasable = model.deployment_name is not None and model.undeployed_at is None
        self.models[model.fine_tuned_model] = dataclasses.replace(
            model, status=change.status, rollout_id=change.rollout_id, status_changed_at=at,
            undeploy_due_at=change.undeploy_at if releasable else None)

    async def list_models(self, status: ModelStatus | None = None) -> list[RegisteredModel]:
        found = [m for m in self.models.values() if status is None or m.status is status]
        return sorted(found, key=lambda m: m.registered_at, reverse=True)

    async def undeploy_due(self, provider: str, now: datetime, limit: int = 100) -> list[RegisteredModel]:
        due = [m for m in self.models.values()
               if m.provider == provider and m.undeploy_due_at is not None and m.undeploy_due_at <= now]
        return sorted(due, key=lambda m: (m.undeploy_due_at, m.fine_tuned_model))[:limit]

    async def save_undeploy(self, model: RegisteredModel) -> None:
        stored = self.models[model.fine_tuned_model]
        if stored.undeploy_due_at is not None:
            self.models[model.fine_tuned_model] = dataclasses.replace(
                stored, undeploy_due_at=model.undeploy_due_at, undeploy_failures=model.undeploy_failures,
                undeployed_at=model.undeployed_at)


class FakeFineTuneProvider(AbstractFineTuneProvider):
    """Offers the models in ``models``; jobs stay as created until ``advance`` moves them.

    ``fail_next(operation, error, ...)`` makes the next calls of an operation ('model',
    'upload', 'get_file', 'create', 'find', 'get_job', 'events', 'checkpoints', 'cancel',
    'deploy', 'get_deployment', 'undeploy') raise; ``lose_create_answers`` makes create
    succeed at the provider and then raise, as a timeout after the provider acted would;
    with ``lists_late`` a created job is missing from the job list (``find``) until ``unlisted``
    is cleared, as an eventually consistent list is.
    ``selfhosted()`` makes one that deploys as the self-hosted provider does: under the model's
    name, ready at once unless ``deployment_state_after_put`` says otherwise, released on undeploy.
    """

    def __init__(self, *, name: str = "openai", account: str = "fake-account",
                 statuses: Mapping[str, JobStatus] = OPENAI_STATUSES, needs_deployment: bool = False,
                 stores_metadata: bool = True, initial_status: str = "validating_files",
                 deploys_under_model_name: bool = False, releases_deployments: bool = False) -> None:
        self.name = name
        self.account = account
        self.statuses = statuses
        self.needs_deployment = needs_deployment
        self.deploys_under_model_name = deploys_under_model_name
        self.releases_deployments = releases_deployments
        self.stores_metadata = stores_metadata
        self.initial_status = initial_status
        self.models: dict[str, ModelLifecycle] = {}
        self.files: dict[str, ProviderFile] = {}
        self.uploaded: dict[str, bytes] = {}
        self.jobs: dict[str, ProviderJob] = {}
        self.requests: dict[str, JobRequest] = {}
        self.events: dict[str, list[ProviderEvent]] = {}
        self.checkpoint_lists: dict[str, list[ProviderCheckpoint]] = {}
        self.deployments: dict[str, Deployment] = {}
        self.deployment_state_after_put = "Accepted"
        self.deployment_detail: str | None = None
        self.undeployed: list[str] = []
        self.upload_state = FileState.READY
        self.calls: list[str] = []
        self.lose_create_answers = 0
        self.lists_late = False
        self.unlisted: set[str] = set()
        self._failures: dict[str, list[Exception]] = {}
        self._ids = itertools.count(1)
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    @classmethod
    def selfhosted(cls, account: str = "selfhosted:fake") -> FakeFineTuneProvider:
        provider = cls(name="selfhosted", account=account, needs_deployment=True, deploys_under_model_name=True,
                       releases_deployments=True)
        provider.deployment_state_after_put = "Succeeded"
        return provider

    def offer(self, model: str, **dates: Any) -> None:
        self.models[model] = ModelLifecycle(model=model, source="fake provider", **dates)

    def fail_next(self, operation: str, *errors: Exception) -> None:
        self._failures.setdefault(operation, []).extend(errors)

    def advance(self, provider_job_id: str, raw_status: str, **changes: Any) -> None:
        job = self.jobs[provider_job_id]
        self.jobs[provider_job_id] = dataclasses.replace(
            job, raw_status=raw_status, status=map_status(raw_status, self.statuses), **changes)

    def add_event(self, provider_job_id: str, message: str, data: dict[str, Any] | None = None) -> None:
        events = self.events.setdefault(provider_job_id, [])
        events.append(ProviderEvent(event_id=f"ev-{next(self._ids)}", created_at=self.now, level="info",
                                    message=message, type="metrics" if data else "message", data=data))

    def add_checkpoint(self, provider_job_id: str, step: int, **metrics: float) -> None:
        self.checkpoint_lists.setdefault(provider_job_id, []).append(ProviderCheckpoint(
            checkpoint_id=f"ckpt-{next(self._ids)}", created_at=self.now, step=step,
            model_checkpoint=f"ft:ckpt-step-{step}", metrics={"step": float(step), **metrics}))

    def _enter(self, operation: str, detail: str = "") -> None:
        self.calls.append(f"{operation} {detail}".strip())
        pending = self._failures.get(operation)
        if pending:
            raise pending.pop(0)

    async def model_lifecycle(self, model: str) -> ModelLifecycle | None:
        self._enter("model", model)
        return self.models.get(model)

    async def upload_file(self, path: Path, filename: str) -> ProviderFile:
        self._enter("upload", filename)
        file = ProviderFile(file_id=f"file-{next(self._ids)}", state=self.upload_state,
                            size_bytes=path.stat().st_size)
        self.files[file.file_id] = file
        self.uploaded[file.file_id] = path.read_bytes()
        return file

    async def get_file(self, file_id: str) -> ProviderFile | None:
        self._enter("get_file", file_id)
        return self.files.get(file_id)

    async def create_job(self, request: JobRequest) -> ProviderJob:
        self._enter("create", request.job_id)
        job = ProviderJob(
            provider_job_id=f"ftjob-{next(self._ids)}", raw_status=self.initial_status,
            status=map_status(self.initial_status, self.statuses), model=request.base_model,
            created_at=self.now, training_file=request.training_file, validation_file=request.validation_file,
            suffix=request.suffix, metadata=request.metadata() if self.stores_metadata else {},
            hyperparameters={k: v for k, v in request.hyperparameters.model_dump().items() if v is not None},
        )
        self.jobs[job.provider_job_id] = job
        self.requests[job.provider_job_id] = request
        if self.lists_late:
            self.unlisted.add(job.provider_job_id)
        if self.lose_create_answers:
            self.lose_create_answers -= 1
            raise ProviderUnavailable("create: read timed out (the job was created nonetheless)")
        return job

    async def find_job(self, request: JobRequest, attempted_at: datetime, taken: set[str]) -> ProviderJob | None:
        self._enter("find", request.job_id)
        listed = [j for j in self.jobs.values() if j.provider_job_id not in self.unlisted]
        return find_own_job(listed, request, attempted_at, taken)

    async def get_job(self, provider_job_id: str) -> ProviderJob:
        self._enter("get_job", provider_job_id)
        return self.jobs[provider_job_id]

    async def new_events(self, provider_job_id: str, last_seen: str | None) -> list[ProviderEvent]:
        self._enter("events", provider_job_id)
        events = self.events.get(provider_job_id, [])
        ids = [e.event_id for e in events]
        return events[ids.index(last_seen) + 1:] if last_seen in ids else list(events)

    async def checkpoints(self, provider_job_id: str) -> list[ProviderCheckpoint]:
        self._enter("checkpoints", provider_job_id)
        return list(self.checkpoint_lists.get(provider_job_id, []))

    async def cancel_job(self, provider_job_id: str) -> ProviderJob:
        self._enter("cancel", provider_job_id)
        self.advance(provider_job_id, "cancelled")
        return self.jobs[provider_job_id]

    def fail_job(self, provider_job_id: str, code: str, message: str) -> None:
        self.advance(provider_job_id, "failed", error=JobError(code=code, message=message))

    async def deploy(self, fine_tuned_model: str, deployment_name: str) -> Deployment:
        self._enter("deploy", deployment_name)
        deployment = Deployment(deployment_name, self.deployment_state_after_put, model=fine_tuned_model,
                                detail=self.deployment_detail)
        if not (deployment.failed and self.deploys_under_model_name):  # a refused adapter is not loaded
            self.deployments[deployment_name] = deployment
        return deployment

    async def get_deployment(self, deployment_name: str) -> Deployment | None:
        self._enter("get_deployment", deployment_name)
        return self.deployments.get(deployment_name)

    async def undeploy(self, deployment_name: str) -> bool:
        self._enter("undeploy", deployment_name)
        if not self.releases_deployments:
            return False
        if self.deployments.pop(deployment_name, None) is not None:
            self.undeployed.append(deployment_name)
        return True

    def created_jobs(self) -> list[str]:
        return [c for c in self.calls if c.startswith("create ")]

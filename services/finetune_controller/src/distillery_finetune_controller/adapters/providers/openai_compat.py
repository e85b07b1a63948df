"""Providers that speak OpenAI's files and fine-tuning API, through the ``openai`` SDK.

:class:`OpenAICompatibleProvider` does the work; a provider is a subclass that says how
to build its client, which status values it uses, and how its models publish their
lifecycle and its jobs take hyperparameters. Adding another OpenAI-compatible provider
is one such subclass.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openai

from distillery_contracts.finetune import JobError
from distillery_finetune_controller.adapters.providers.base import AbstractFineTuneProvider
from distillery_finetune_controller.adapters.providers.errors import sdk_errors
from distillery_finetune_controller.domain.lifecycle import ModelLifecycle
from distillery_finetune_controller.domain.provider_types import (
    CREATE_CLOCK_SKEW,
    FileState,
    JobRequest,
    ProviderCheckpoint,
    ProviderEvent,
    ProviderFile,
    ProviderJob,
    find_own_job,
)
from distillery_finetune_controller.domain.status import OPENAI_STATUSES, map_status

PAGE = 100
MAX_EVENTS_PER_POLL = 2_000


class OpenAICompatibleProvider(AbstractFineTuneProvider):
    """The OpenAI API as the openai SDK exposes it; subclasses adjust the differences."""

    statuses = OPENAI_STATUSES
    file_states: Mapping[str, FileState] = {
        "uploaded": FileState.READY, "processed": FileState.READY,
        "error": FileState.FAILED, "deleted": FileState.FAILED,
    }
    filters_jobs_by_metadata = True
    lifecycle_source = "provider's shutdown_date"

    def __init__(self, client: openai.AsyncOpenAI, *, name: str, account: str) -> None:
        self.client = client
        self.name = name
        self.account = account

    async def model_lifecycle(self, model: str) -> ModelLifecycle | None:
        found = await _retrieved(f"GET model {model}", self.client.models.retrieve(model))
        return None if found is None else self.lifecycle_of(model, found)

    def lifecycle_of(self, model: str, raw: dict[str, Any]) -> ModelLifecycle:
        return ModelLifecycle(model=model, source=self.lifecycle_source,
                              shutdown_date=_date(raw.get("shutdown_date")))

    async def upload_file(self, path: Path, filename: str) -> ProviderFile:
        async with sdk_errors(f"upload {filename}"):
            with path.open("rb") as handle:
                uploaded = await self.client.files.create(file=(filename, handle), purpose="fine-tune")
        return self.file_of(uploaded.to_dict())

    async def get_file(self, file_id: str) -> ProviderFile | None:
        found = await _retrieved(f"GET file {file_id}", self.client.files.retrieve(file_id))
        return None if found is None else self.file_of(found)

    def file_of(self, raw: dict[str, Any]) -> ProviderFile:
        state = self.file_states.get(str(raw.get("status") or "processed"), FileState.PROCESSING)
        return ProviderFile(file_id=raw["id"], state=state, detail=raw.get("status_details"),
                            size_bytes=raw.get("bytes"))

    def create_arguments(self, request: JobRequest) -> dict[str, Any]:
        """OpenAI: hyperparameters under ``method`` (the top-level field is deprecated)."""
        args = self._common_arguments(request)
        args["metadata"] = request.metadata()
        chosen = chosen_hyperparameters(request)
        if chosen:
            args["method"] = {"type": "supervised", "supervised": {"hyperparameters": chosen}}
        return args

    async def create_job(self, request: JobRequest) -> ProviderJob:
        once = self.client.with_options(max_retries=0)  # see AbstractFineTuneProvider.create_job
        async with sdk_errors(f"create fine-tuning job {request.job_id}"):
            created = await once.fine_tuning.jobs.create(**self.create_arguments(request))
        return self.job_of(created.to_dict())

    async def find_job(self, request: JobRequest, attempted_at: datetime, taken: set[str]) -> ProviderJob | None:
        since = attempted_at - CREATE_CLOCK_SKEW
        params: dict[str, Any] = {"limit": PAGE}
        if self.filters_jobs_by_metadata:
            params["metadata"] = {"distillery_job_id": request.job_id}
        seen: list[ProviderJob] = []
        async with sdk_errors(f"list fine-tuning jobs for {request.job_id}"):
            async for raw in self.client.fine_tuning.jobs.list(**params):
                job = self.job_of(raw.to_dict())
                if job.created_at < since:
                    break  # newest first: everything further is older than our attempt
                seen.append(job)
        return find_own_job(seen, request, attempted_at, taken)

    async def get_job(self, provider_job_id: str) -> ProviderJob:
        async with sdk_errors(f"GET fine-tuning job {provider_job_id}"):
            found = await self.client.fine_tuning.jobs.retrieve(provider_job_id)
        return self.job_of(found.to_dict())

    async def new_events(self, provider_job_id: str, last_seen: str | None) -> list[ProviderEvent]:
        fresh: list[ProviderEvent] = []
        async with sdk_errors(f"list events of {provider_job_id}"):
            async for raw in self.client.fine_tuning.jobs.list_events(provider_job_id, limit=PAGE):
                if raw.id == last_seen or len(fresh) >= MAX_EVENTS_PER_POLL:
                    break  # newest first: the rest is stored already
                item = raw.to_dict()
                fresh.append(ProviderEvent(
                    event_id=item["id"], created_at=_time(item.get("created_at")),
                    level=str(item.get("level") or "info"), message=str(item.get("message") or ""),
                    type=item.get("type"), data=item.get("data") if isinstance(item.get("data"), dict) else None,
                ))
        return sorted(fresh, key=lambda e: (e.created_at, e.event_id))

    async def checkpoints(self, provider_job_id: str) -> list[ProviderCheckpoint]:
        found: list[ProviderCheckpoint] = []
        async with sdk_errors(f"list checkpoints of {provider_job_id}"):
            async for raw in self.client.fine_tuning.jobs.checkpoints.list(provider_job_id, limit=PAGE):
                item = raw.to_dict()
                metrics = {k: float(v) for k, v in (item.get("metrics") or {}).items()
                           if isinstance(v, int | float) and not isinstance(v, bool)}
                found.append(ProviderCheckpoint(
                    checkpoint_id=item["id"], created_at=_time(item.get("created_at")),
                    step=int(item.get("step_number") or metrics.get("step") or 0),
                    model_checkpoint=str(item.get("fine_tuned_model_checkpoint") or ""), metrics=metrics,
                ))
        return sorted(found, key=lambda c: c.step)

    async def cancel_job(self, provider_job_id: str) -> ProviderJob:
        async with sdk_errors(f"cancel fine-tuning job {provider_job_id}"):
            cancelled = await self.client.fine_tuning.jobs.cancel(provider_job_id)
        return self.job_of(cancelled.to_dict())

    def job_of(self, raw: dict[str, Any]) -> ProviderJob:
        status = str(raw.get("status") or "")
        hyper = raw.get("hyperparameters") or (
            ((raw.get("method") or {}).get("supervised") or {}).get("hyperparameters") or {})
        return ProviderJob(
            provider_job_id=raw["id"], raw_status=status, status=map_status(status, self.statuses),
            model=str(raw.get("model") or ""), created_at=_time(raw.get("created_at")),
            training_file=raw.get("training_file"), validation_file=raw.get("validation_file"),
            suffix=raw.get("suffix"), metadata={str(k): str(v) for k, v in (raw.get("metadata") or {}).items()},
            fine_tuned_model=raw.get("fine_tuned_model"), trained_tokens=raw.get("trained_tokens"),
            error=_job_error(raw.get("error")), hyperparameters=dict(hyper),
        )

    async def close(self) -> None:
        await self.client.close()

    @staticmethod
    def _common_arguments(request: JobRequest) -> dict[str, Any]:
        args: dict[str, Any] = {"model": request.base_model, "training_file": request.training_file}
        optional = {"validation_file": request.validation_file, "suffix": request.suffix, "seed": request.seed}
        args.update({k: v for k, v in optional.items() if v is not None})
        return args


async def _retrieved(what: str, retrieve: Awaitable[Any]) -> dict[str, Any] | None:
    """The retrieved object as a dict; None when the provider answers that it has no such object."""
    async with sdk_errors(what):
        try:
            return (await retrieve).to_dict()
        except openai.NotFoundError:
            return None


def chosen_hyperparameters(request: JobRequest) -> dict[str, Any]:
    h = request.hyperparameters
    values = {"n_epochs": h.n_epochs, "batch_size": h.batch_size,
              "learning_rate_multiplier": h.learning_rate_multiplier}
    return {k: v for k, v in values.items() if v is not None and v != "auto"}


def _job_error(raw: Any) -> JobError | None:
    if not isinstance(raw, dict) or not raw.get("message"):
        return None
    return JobError(code=raw.get("code") or None, message=str(raw["message"]))


def _time(value: Any) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return datetime.now(UTC)


def _date(value: Any) -> date | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).date()
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


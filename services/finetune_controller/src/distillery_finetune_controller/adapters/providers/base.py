"""The one interface every fine-tuning provider implements.

Methods raise :class:`ProviderUnavailable` for failures that may pass and
:class:`ProviderRejected` when the provider refuses the request itself; nothing else
of the provider's SDK leaks out.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from distillery_contracts.finetune import JobStatus
from distillery_finetune_controller.domain.lifecycle import ModelLifecycle
from distillery_finetune_controller.domain.provider_types import (
    Deployment,
    JobRequest,
    ProviderCheckpoint,
    ProviderEvent,
    ProviderFile,
    ProviderJob,
)


class AbstractFineTuneProvider(abc.ABC):
    """One fine-tuning account of one provider.

    ``name`` goes into events ('openai', 'azure', 'selfhosted'); ``account`` identifies the
    account (uploaded files are reused, and concurrent jobs counted, per account);
    ``needs_deployment`` says a trained model must be deployed before it can serve, and
    ``deploys_under_model_name`` that its deployment is named after the fine-tuned model (an
    adapter's name in a serving engine), so callers need no deployment name; ``label`` is how
    refusals name the provider.
    """

    name: str
    account: str
    needs_deployment: bool = False
    deploys_under_model_name: bool = False
    label: str = "the provider"
    statuses: Mapping[str, JobStatus]

    @abc.abstractmethod
    async def model_lifecycle(self, model: str) -> ModelLifecycle | None:
        """What the provider publishes about ``model``'s life; None if it does not offer it."""

    @abc.abstractmethod
    async def upload_file(self, path: Path, filename: str) -> ProviderFile:
        """Upload a training or validation file (purpose fine-tune)."""

    @abc.abstractmethod
    async def get_file(self, file_id: str) -> ProviderFile | None:
        """The file's state; None when the provider no longer has it."""

    @abc.abstractmethod
    async def create_job(self, request: JobRequest) -> ProviderJob:
        """Create the job, exactly once: implementations must not retry this call themselves,
        since a retried create whose first answer was lost starts a second paid job."""

    @abc.abstractmethod
    async def find_job(self, request: JobRequest, attempted_at: datetime, taken: set[str]) -> ProviderJob | None:
        """Our job if an earlier create call made it (see ``find_own_job``), else None."""

    @abc.abstractmethod
    async def get_job(self, provider_job_id: str) -> ProviderJob:
        """The job as the provider sees it now."""

    @abc.abstractmethod
    async def new_events(self, provider_job_id: str, last_seen: str | None) -> list[ProviderEvent]:
        """Events after ``last_seen`` (all when None), oldest first."""

    @abc.abstractmethod
    async def checkpoints(self, provider_job_id: str) -> list[ProviderCheckpoint]:
        """Every checkpoint of the job so far."""

    @abc.abstractmethod
    async def cancel_job(self, provider_job_id: str) -> ProviderJob:
        """Ask the provider to cancel the job."""

    async def deploy(self, fine_tuned_model: str, deployment_name: str) -> Deployment:
        """Start deploying a trained model; only providers with ``needs_deployment``."""
        raise NotImplementedError(f"{self.name} serves fine-tuned models without a deployment")

    async def get_deployment(self, deployment_name: str) -> Deployment | None:
        """The deployment's provisioning state; None if it does not exist."""
        raise NotImplementedError(f"{self.name} serves fine-tuned models without a deployment")

    async def undeploy(self, deployment_name: str) -> bool:
        """Release the deployment of a retired model; True once it is gone (also when it was
        gone already), False when this provider keeps its deployments (the default: Azure's
        stay until an operator or its idle timeout removes them)."""
        return False

    async def close(self) -> None:
        """Release connections."""

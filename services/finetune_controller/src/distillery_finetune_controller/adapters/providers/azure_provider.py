"""Azure OpenAI: the data plane through ``AsyncAzureOpenAI``, deployments through ARM.

Differences from OpenAI that matter here: every call carries ``api-version``; job
statuses include created, pending and paused; hyperparameters are plain numbers at the
top level; models publish ``deprecation.fine_tune`` / ``deprecation.inference`` and a
``lifecycle_status``; files are processed before a job may use them; and a fine-tuned
model serves only once deployed, through the management plane.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import openai

from distillery_finetune_controller.adapters.providers.azure_deployments import AzureDeployments
from distillery_finetune_controller.adapters.providers.openai_compat import (
    OpenAICompatibleProvider,
    chosen_hyperparameters,
)
from distillery_finetune_controller.config import FinetuneSettings, ProviderKind
from distillery_finetune_controller.domain.lifecycle import ModelLifecycle
from distillery_finetune_controller.domain.provider_types import Deployment, FileState, JobRequest
from distillery_finetune_controller.domain.status import AZURE_STATUSES


class AzureOpenAIProvider(OpenAICompatibleProvider):
    """One Azure OpenAI resource and its Cognitive Services account."""

    statuses = AZURE_STATUSES
    file_states: Mapping[str, FileState] = {
        "uploaded": FileState.PROCESSING, "pending": FileState.PROCESSING, "running": FileState.PROCESSING,
        "processed": FileState.READY, "error": FileState.FAILED,
        "deleting": FileState.FAILED, "deleted": FileState.FAILED,
    }
    # The 2024-10-21 API has no job metadata: find_own_job falls back to files + suffix.
    filters_jobs_by_metadata = False
    needs_deployment = True

    def __init__(self, client: openai.AsyncOpenAI, deployments: AzureDeployments, *, account: str) -> None:
        super().__init__(client, name="azure", account=account)
        self.deployments = deployments

    @classmethod
    def from_settings(cls, settings: FinetuneSettings) -> AzureOpenAIProvider:
        if settings.azure_endpoint is None or settings.azure_api_key is None:
            raise ValueError("the azure provider needs an endpoint and an api-key")
        client = openai.AsyncAzureOpenAI(
            azure_endpoint=settings.azure_endpoint, api_key=settings.azure_api_key.get_secret_value(),
            api_version=settings.azure_api_version, max_retries=settings.sdk_max_retries,
            timeout=settings.request_timeout_s,
        )
        return cls(client, AzureDeployments.from_settings(settings),
                   account=settings.account_of(ProviderKind.AZURE))

    def lifecycle_of(self, model: str, raw: dict[str, Any]) -> ModelLifecycle:
        deprecation = raw.get("deprecation") or {}
        capabilities = raw.get("capabilities") or {}
        fine_tunable = capabilities.get("fine_tune")
        return ModelLifecycle(
            model=model, source="Azure model deprecation",
            fine_tune_until=_day(deprecation.get("fine_tune")),
            shutdown_date=_day(deprecation.get("inference")),
            lifecycle_status=raw.get("lifecycle_status"),
            fine_tunable=fine_tunable if isinstance(fine_tunable, bool) else None,
        )

    def create_arguments(self, request: JobRequest) -> dict[str, Any]:
        """Azure: hyperparameters as numbers at the top level; 'auto' is left out."""
        args = self._common_arguments(request)
        chosen = chosen_hyperparameters(request)
        if chosen:
            args["hyperparameters"] = chosen
        return args

    async def deploy(self, fine_tuned_model: str, deployment_name: str) -> Deployment:
        return await self.deployments.put(fine_tuned_model, deployment_name)

    async def get_deployment(self, deployment_name: str) -> Deployment | None:
        return await self.deployments.get(deployment_name)

    async def close(self) -> None:
        await super().close()
        await self.deployments.close()


def _day(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).date()
    return None

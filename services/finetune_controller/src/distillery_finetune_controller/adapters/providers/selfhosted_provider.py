"""The self-hosted provider: the distillery trainer, and the serving engine that loads its adapters.

The trainer speaks OpenAI's files and fine-tuning API, so everything but the differences is
:class:`OpenAICompatibleProvider`'s. The differences: open weights publish no shutdown date;
a trained model serves once its adapter is loaded into the serving engine, under the
fine-tuned model's own name (so the evaluator and the router call it by that name); and a
retired model's adapter is unloaded. The trainer publishes the adapter of job ``<id>`` at
``adapters/<id>/`` in the blob store, which the serving engine's host sees at
``<adapter root>/<id>``; ``<id>`` is the last ``:``-separated part of the fine-tuned model
name (``ft:<base>:<suffix>:<id>``).
"""

from __future__ import annotations

import openai

from distillery_finetune_controller.adapters.providers.openai_compat import OpenAICompatibleProvider
from distillery_finetune_controller.adapters.providers.serving_engine import ServingEngine
from distillery_finetune_controller.config import FinetuneSettings, ProviderKind
from distillery_finetune_controller.domain.provider_types import Deployment, ProviderRejected

LOADED, LOADING, FAILED = "Succeeded", "Loading", "Failed"


class SelfHostedProvider(OpenAICompatibleProvider):
    """One trainer and one serving engine sharing the adapters' volume."""

    needs_deployment = True
    deploys_under_model_name = True
    lifecycle_source = "self-hosted trainer"

    def __init__(self, client: openai.AsyncOpenAI, engine: ServingEngine, *, account: str,
                 adapter_root: str) -> None:
        super().__init__(client, name=ProviderKind.SELFHOSTED.value, account=account)
        self.engine = engine
        self.adapter_root = adapter_root.rstrip("/")
        self.label = (f"the self-hosted trainer at {str(client.base_url).rstrip('/')} "
                      "(its GET /v1/models lists the base models it can train)")

    @classmethod
    def from_settings(cls, settings: FinetuneSettings) -> SelfHostedProvider:
        if settings.selfhosted_trainer_url is None or settings.selfhosted_adapter_root is None:
            raise ValueError("the selfhosted provider needs the trainer's URL and the adapter root")
        key = settings.selfhosted_api_key
        client = openai.AsyncOpenAI(
            # The SDK insists on a key; a trainer without one ignores it.
            api_key=key.get_secret_value() if key else "none", base_url=settings.selfhosted_trainer_url,
            max_retries=settings.sdk_max_retries, timeout=settings.request_timeout_s,
        )
        return cls(client, ServingEngine.from_settings(settings),
                   account=settings.account_of(ProviderKind.SELFHOSTED),
                   adapter_root=settings.selfhosted_adapter_root)

    def adapter_path(self, fine_tuned_model: str) -> str:
        """Where the serving engine finds the adapter of ``fine_tuned_model``."""
        return f"{self.adapter_root}/{fine_tuned_model.rsplit(':', 1)[-1]}"

    async def deploy(self, fine_tuned_model: str, deployment_name: str) -> Deployment:
        path = self.adapter_path(fine_tuned_model)
        try:
            await self.engine.load(deployment_name, path)
        except ProviderRejected as exc:  # e.g. trained on another base: loading it again cannot help
            return Deployment(deployment_name, FAILED, model=fine_tuned_model,
                              detail=f"the serving engine refused the adapter at {path}: {exc.message}")
        found = await self.get_deployment(deployment_name)
        return found or Deployment(deployment_name, LOADING, model=fine_tuned_model)

    async def get_deployment(self, deployment_name: str) -> Deployment | None:
        """The adapter loaded under ``deployment_name`` (a fine-tuned model name); one loaded
        from another path serves something else, which ``model`` then names by its path."""
        root = (await self.engine.adapters()).get(deployment_name)
        if root is None:
            return None
        ours = root.rstrip("/") == self.adapter_path(deployment_name)
        return Deployment(deployment_name, LOADED, model=deployment_name if ours else f"the adapter at {root}")

    async def undeploy(self, deployment_name: str) -> bool:
        await self.engine.unload(deployment_name)  # not loaded (404): gone already, which is what we want
        return True

    async def close(self) -> None:
        await super().close()
        await self.engine.close()

"""The providers the settings choose."""

from __future__ import annotations

from distillery_finetune_controller.adapters.providers.base import AbstractFineTuneProvider
from distillery_finetune_controller.config import FinetuneSettings, ProviderKind


def build_provider(settings: FinetuneSettings, kind: ProviderKind | None = None) -> AbstractFineTuneProvider:
    """A provider client for ``kind`` (``settings.provider`` when None); connections open on first use."""
    kind = kind or settings.provider
    if kind is ProviderKind.AZURE:
        from distillery_finetune_controller.adapters.providers.azure_provider import AzureOpenAIProvider

        return AzureOpenAIProvider.from_settings(settings)
    if kind is ProviderKind.SELFHOSTED:
        from distillery_finetune_controller.adapters.providers.selfhosted_provider import SelfHostedProvider

        return SelfHostedProvider.from_settings(settings)
    from distillery_finetune_controller.adapters.providers.openai_provider import OpenAIProvider

    return OpenAIProvider.from_settings(settings)

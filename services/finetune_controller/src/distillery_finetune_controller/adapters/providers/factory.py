"""The provider the settings choose."""

from __future__ import annotations

from distillery_finetune_controller.adapters.providers.base import AbstractFineTuneProvider
from distillery_finetune_controller.config import FinetuneSettings, ProviderKind


def build_provider(settings: FinetuneSettings) -> AbstractFineTuneProvider:
    """A provider client for ``settings.provider``; connections open on first use."""
    if settings.provider is ProviderKind.AZURE:
        from distillery_finetune_controller.adapters.providers.azure_provider import AzureOpenAIProvider

        return AzureOpenAIProvider.from_settings(settings)
    from distillery_finetune_controller.adapters.providers.openai_provider import OpenAIProvider

    return OpenAIProvider.from_settings(settings)

"""OpenAI's own fine-tuning API."""

from __future__ import annotations

import openai

from distillery_finetune_controller.adapters.providers.openai_compat import OpenAICompatibleProvider
from distillery_finetune_controller.config import FinetuneSettings, ProviderKind


class OpenAIProvider(OpenAICompatibleProvider):
    """api.openai.com (or anything at ``openai_base_url`` speaking its API)."""

    @classmethod
    def from_settings(cls, settings: FinetuneSettings) -> OpenAIProvider:
        if settings.openai_api_key is None:
            raise ValueError("the openai provider needs an API key")
        client = openai.AsyncOpenAI(
            api_key=settings.openai_api_key.get_secret_value(), base_url=settings.openai_base_url,
            organization=settings.openai_organization, max_retries=settings.sdk_max_retries,
            timeout=settings.request_timeout_s,
        )
        return cls(client, name="openai", account=settings.account_of(ProviderKind.OPENAI))

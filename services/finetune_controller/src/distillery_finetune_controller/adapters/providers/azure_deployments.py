"""Azure's management plane: deploy a fine-tuned model (a long-running PUT) and watch it.

PUT .../accounts/{account}/deployments/{name}?api-version=2024-10-01 answers 201 with
``provisioningState`` "Accepted" (or 200 "Succeeded"); GET of the same URL reports
progress until "Succeeded" or "Failed".
"""

from __future__ import annotations

from typing import Any

import httpx

from distillery_finetune_controller.adapters.providers.errors import http_errors
from distillery_finetune_controller.config import FinetuneSettings
from distillery_finetune_controller.domain.provider_types import Deployment


class AzureDeployments:
    """Deployments of one Cognitive Services account, with a Bearer token."""

    def __init__(self, *, base_url: str, token: str, subscription_id: str, resource_group: str,
                 account: str, api_version: str, sku: str = "Standard", capacity: int = 1,
                 timeout_s: float = 60.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._path = (f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
                      f"/providers/Microsoft.CognitiveServices/accounts/{account}/deployments")
        self._sku = {"name": sku, "capacity": capacity}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), params={"api-version": api_version}, timeout=timeout_s,
            headers={"Authorization": f"Bearer {token}"}, transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: FinetuneSettings) -> AzureDeployments:
        missing = [n for n in ("azure_management_token", "azure_subscription_id", "azure_resource_group",
                               "azure_account") if getattr(settings, n) is None]
        if missing or settings.azure_management_token is None:
            raise ValueError(f"azure deployments need {', '.join(missing)}")
        return cls(
            base_url=settings.azure_management_url, token=settings.azure_management_token.get_secret_value(),
            subscription_id=str(settings.azure_subscription_id), resource_group=str(settings.azure_resource_group),
            account=str(settings.azure_account), api_version=settings.azure_management_api_version,
            sku=settings.azure_deployment_sku, capacity=settings.azure_deployment_capacity,
            timeout_s=settings.request_timeout_s,
        )

    async def put(self, fine_tuned_model: str, name: str) -> Deployment:
        body = {"sku": self._sku,
                "properties": {"model": {"format": "OpenAI", "name": fine_tuned_model, "version": "1"}}}
        async with http_errors(f"PUT deployment {name}"):
            response = await self._http.put(f"{self._path}/{name}", json=body)
            response.raise_for_status()
        return _deployment(name, response.json())

    async def get(self, name: str) -> Deployment | None:
        async with http_errors(f"GET deployment {name}"):
            response = await self._http.get(f"{self._path}/{name}")
            if response.status_code == 404:
                return None
            response.raise_for_status()
        return _deployment(name, response.json())

    async def close(self) -> None:
        await self._http.aclose()


def _deployment(name: str, body: Any) -> Deployment:
    body = body if isinstance(body, dict) else {}
    properties = body.get("properties") or {}
    error = properties.get("error") or body.get("error")
    detail = error.get("message") if isinstance(error, dict) else None
    model = (properties.get("model") or {}).get("name")
    return Deployment(name=name, state=str(properties.get("provisioningState") or "Accepted"),
                      model=str(model) if model else None, detail=detail)

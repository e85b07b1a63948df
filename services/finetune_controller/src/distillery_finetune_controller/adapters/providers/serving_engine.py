"""A serving engine's LoRA adapters: vLLM's runtime API, which ``distillery serve`` also speaks.

POST /v1/load_lora_adapter {"lora_name", "lora_path"} answers 200 (text) or 400 with the
reason (e.g. an adapter trained on another base model); POST /v1/unload_lora_adapter
{"lora_name"} answers 404 when no such adapter is loaded; GET /v1/models lists the base
model and every loaded adapter as {"id": lora_name, "root": lora_path, "parent": base}.
"""

from __future__ import annotations

from typing import Any

import httpx

from distillery_finetune_controller.adapters.providers.errors import http_errors
from distillery_finetune_controller.config import FinetuneSettings


class ServingEngine:
    """The adapters one serving engine has loaded, and loading or unloading one."""

    def __init__(self, *, base_url: str, api_key: str | None = None, timeout_s: float = 60.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s,
                                       transport=transport)

    @classmethod
    def from_settings(cls, settings: FinetuneSettings) -> ServingEngine:
        if settings.selfhosted_serving_url is None:
            raise ValueError("the self-hosted provider needs the serving engine's URL")
        key = settings.selfhosted_serving_api_key
        return cls(base_url=settings.selfhosted_serving_url, api_key=key.get_secret_value() if key else None,
                   timeout_s=settings.request_timeout_s)

    async def adapters(self) -> dict[str, str]:
        """The path of every loaded adapter, by name."""
        async with http_errors("GET the serving engine's models"):
            response = await self._http.get("/models")
            response.raise_for_status()
        return _adapters(response.json())

    async def load(self, name: str, path: str) -> None:
        """Load the adapter at ``path`` (as the engine's host sees it) under ``name``."""
        async with http_errors(f"load adapter {name}"):
            response = await self._http.post("/load_lora_adapter", json={"lora_name": name, "lora_path": path})
            response.raise_for_status()

    async def unload(self, name: str) -> bool:
        """Unload the adapter; False when it was not loaded (nothing left to do)."""
        async with http_errors(f"unload adapter {name}"):
            response = await self._http.post("/unload_lora_adapter", json={"lora_name": name})
            if response.status_code == 404:
                return False
            response.raise_for_status()
        return True

    async def close(self) -> None:
        await self._http.aclose()


def _adapters(body: Any) -> dict[str, str]:
    entries = body.get("data") if isinstance(body, dict) else None
    return {str(entry["id"]): str(entry.get("root") or "") for entry in entries or []
            if isinstance(entry, dict) and entry.get("id") and entry.get("parent")}

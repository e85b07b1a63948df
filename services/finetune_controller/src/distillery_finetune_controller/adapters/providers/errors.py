"""The openai SDK's and httpx's exceptions, translated into ProviderUnavailable / ProviderRejected.

429 (except an exhausted quota), 408, 409, 5xx, timeouts and connection failures may
pass: the job waits and tries again. Credentials the provider refuses (401, 403) are
an operator's problem, not the job's: they are retried too (a bounded number of times,
see ``CredentialsRefused``), and logged loudly. Every
other 4xx is the provider refusing this very request, and the job fails with its words.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import openai

from distillery_finetune_controller.domain.provider_types import (
    CredentialsRefused,
    ProviderRejected,
    ProviderUnavailable,
)
from distillery_runtime.logs import get_logger
from distillery_runtime.retry_after import retry_after_s

log = get_logger(__name__)

RETRYABLE_STATUSES = frozenset({408, 409, 429})
CREDENTIAL_STATUSES = frozenset({401, 403})
QUOTA_CODES = frozenset({"insufficient_quota", "quota_exceeded", "QuotaExceeded"})


def classify(status: int, body: Any, headers: Mapping[str, str], what: str) -> Exception:
    """The provider error for an HTTP failure answer to ``what`` (a short description)."""
    code, message = error_fields(body)
    text = message or f"HTTP {status}"
    if status == 429 and code in QUOTA_CODES:
        return ProviderRejected(text, status=status, code="quota")
    if status in RETRYABLE_STATUSES or status >= 500:
        return ProviderUnavailable(f"{what}: HTTP {status}: {text}", retry_after_s=retry_after_s(headers))
    if status in CREDENTIAL_STATUSES:
        log.error("the provider refused our credentials; check the API key or token", status=status,
                  call=what, detail=text)
        return CredentialsRefused(f"{what}: credentials refused (HTTP {status}): {text}")
    return ProviderRejected(text, status=status, code=code)


def error_fields(body: Any) -> tuple[str | None, str | None]:
    """(code, message) from OpenAI's {"error": {...}} or Azure's shape, or the bare error."""
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        body = body["error"]
    if not isinstance(body, Mapping):
        return None, (str(body).strip() or None) if body else None
    code = body.get("code")
    message = body.get("message")
    return (str(code) if code is not None else None), (str(message) if message else None)


@asynccontextmanager
async def sdk_errors(what: str) -> AsyncIterator[None]:
    """Translate the openai SDK's exceptions raised inside the block."""
    try:
        yield
    except openai.APIStatusError as exc:
        raise classify(exc.status_code, exc.body, exc.response.headers, what) from exc
    except openai.APIConnectionError as exc:  # includes timeouts
        raise ProviderUnavailable(f"{what}: {exc.message}") from exc


@asynccontextmanager
async def http_errors(what: str) -> AsyncIterator[None]:
    """Translate httpx's exceptions (the management plane) raised inside the block."""
    try:
        yield
    except httpx.HTTPStatusError as exc:
        response = exc.response
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        raise classify(response.status_code, body, response.headers, what) from exc
    except httpx.TransportError as exc:
        raise ProviderUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc

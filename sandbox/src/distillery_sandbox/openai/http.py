"""Request plumbing shared by every route: which API a path belongs to, credentials,
`api-version`, injected faults, JSON bodies, query parameters and cursor pages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from distillery_sandbox.openai.config import SandboxConfig
from distillery_sandbox.openai.errors import ApiError, Flavour, bad_request

T = TypeVar("T")
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$|^v1$|^preview$")


def flavour_of(path: str) -> Flavour | None:
    """openai (/v1/...), azure (/openai/...), arm (/subscriptions/...), or None (sandbox
    routes, which need no credentials)."""
    if path.startswith("/v1/"):
        return "openai"
    if path.startswith("/openai/"):
        return "azure"
    if path.startswith("/subscriptions/"):
        return "arm"
    return None


def check_request(request: Request, flavour: Flavour, config: SandboxConfig) -> ApiError | None:
    """The error a real service would answer before looking at the request, if any."""
    bearer = request.headers.get("authorization", "")
    token = bearer[7:] if bearer.lower().startswith("bearer ") else None
    if flavour == "openai":
        if token not in config.openai_keys:
            shown = f"{token[:6]}***" if token else "none"
            return ApiError(401, f"Incorrect API key provided: {shown}. The sandbox accepts "
                                 "the keys it printed on start.", code="invalid_api_key")
        return None
    version = request.query_params.get("api-version")
    if flavour == "arm":
        if token not in config.management_tokens:
            return ApiError(401, "The access token is missing or invalid for the management "
                                 "plane.", azure_code="InvalidAuthenticationToken")
        if not version:
            return ApiError(400, "The api-version query parameter (?api-version=) is required "
                                 "for all requests.", azure_code="MissingApiVersionParameter")
        return None
    if request.headers.get("api-key") not in config.azure_keys and token not in config.management_tokens:
        return ApiError(401, "Access denied due to invalid subscription key or wrong API "
                             "endpoint. Make sure to provide a valid key for an active "
                             "subscription and use a correct regional API endpoint for your "
                             "resource.", code="invalid_api_key")
    if not version:
        return ApiError(400, "Missing required query parameter 'api-version' (for example "
                             "?api-version=2024-10-21).", param="api-version")
    if not _API_VERSION.match(version):
        return ApiError(400, f"The api-version '{version}' is not supported; use for example "
                             "2024-10-21.", param="api-version")
    return None


class Guard:
    """ASGI middleware: credentials, api-version and injected faults before any API route;
    `after(path)` once an API request has been served (the app saves its state there)."""

    def __init__(self, app: ASGIApp, config: SandboxConfig,
                 after: Callable[[str], None] | None = None):
        self.app, self.config, self.after = app, config, after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        flavour = flavour_of(request.url.path)
        if flavour is not None:
            error = check_request(request, flavour, self.config) or self._fault(request.url.path)
            if error is not None:
                await error.response(flavour)(scope, receive, send)
                return
        await self.app(scope, receive, send)
        if flavour is not None and self.after is not None:
            self.after(request.url.path)

    def _fault(self, path: str) -> ApiError | None:
        rule = self.config.faults.hit(path)
        if rule is None:
            return None
        if rule.status == 429:
            return ApiError(429, "Rate limit reached for requests (injected by the sandbox). "
                                 f"Please retry after {rule.retry_after_seconds:g} seconds.",
                            code="rate_limit_exceeded", headers=rule.headers())
        return ApiError(rule.status, "The server had an error while processing your request "
                                     "(injected by the sandbox).", code="server_error")


async def json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"We could not parse the JSON body of your request ({exc}).") from None


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"'{name}' must be an integer, got {raw!r}.", name) from None
    if not low <= value <= high:
        raise bad_request(f"'{name}' must be between {low} and {high}, got {value}.", name)
    return value


def metadata_filter(request: Request) -> dict[str, str] | Literal["null"] | None:
    """`metadata[k]=v` pairs (deepObject style), or "null" for `metadata=null`."""
    if request.query_params.get("metadata") == "null":
        return "null"
    pairs = {key[9:-1]: value for key, value in request.query_params.multi_items()
             if key.startswith("metadata[") and key.endswith("]")}
    return pairs or None


def page(items: Sequence[T], after: str | None, limit: int) -> tuple[list[T], bool]:
    """Up to `limit` items following the one whose id is `after`, and whether more remain."""
    rest = list(items)
    if after is not None:
        ids = [getattr(item, "id") for item in rest]
        rest = rest[ids.index(after) + 1:] if after in ids else []
    return rest[:limit], len(rest) > limit

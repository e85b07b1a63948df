"""Reads routing tables from the rollout-controller's ``GET /v1/routes/{route}``."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from pydantic import ValidationError

from distillery_router.table import RouteTable


class TableUnavailable(Exception):
    """A table could not be read: the endpoint failed or sent something unusable."""


class HttpTableSource:
    """Fetches one route's table at a time, with conditional requests.

    The last ETag seen for each route is sent back as ``If-None-Match``, so an unchanged
    table costs the controller a 304 and no body. ``api_token`` is the bearer token the
    controller's API requires (one of its DISTILLERY_API_TOKENS).
    """

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 2.0,
        api_token: str | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None
        self._etags: dict[str, str] = {}
        self._auth = {"Authorization": f"Bearer {api_token}"} if api_token else {}

    def url_for(self, route: str) -> str:
        return f"{self.base_url}/v1/routes/{quote(route, safe='')}"

    async def fetch(self, route: str) -> RouteTable | None:
        """The route's current table, or None when it has not changed since the last fetch.

        Raises TableUnavailable (with the reason) on any network error, unexpected
        status or invalid body.
        """
        headers = {"Accept": "application/json", **self._auth}
        if etag := self._etags.get(route):
            headers["If-None-Match"] = etag
        try:
            response = await self._client.get(self.url_for(route), headers=headers)
        except httpx.HTTPError as exc:
            raise TableUnavailable(f"GET {self.url_for(route)} failed: {exc!r}") from exc
        if response.status_code == httpx.codes.NOT_MODIFIED:
            return None
        if response.status_code != httpx.codes.OK:
            raise TableUnavailable(
                f"GET {self.url_for(route)} answered {response.status_code}: {response.text[:200]}"
            )
        table = self._parse(route, response)
        if etag := response.headers.get("ETag"):
            self._etags[route] = etag
        return table

    def _parse(self, route: str, response: httpx.Response) -> RouteTable:
        try:
            table = RouteTable.model_validate_json(response.content)
        except ValidationError as exc:
            raise TableUnavailable(f"invalid routing table for route {route!r}: {exc}") from exc
        if table.route != route:
            raise TableUnavailable(f"asked for route {route!r}, the endpoint answered {table.route!r}")
        return table

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

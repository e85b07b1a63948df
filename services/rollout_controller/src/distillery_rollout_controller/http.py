"""The controller's HTTP API: the routing table for the voice platform, status for people.

- ``GET /v1/routes/{route}``: the table in force; ``ETag`` is its version, so a router
  polling with ``If-None-Match`` gets 304 until the weights change.
- ``GET /v1/rollouts``: the status document (``?limit=N`` rollouts, newest first).
- ``GET /v1/rollouts/{rollout_id}``: one rollout with every decision.
- ``GET /v1/report``: the cost report (``?calls_per_day=N`` to project another volume).

Every answer is a read model of views.py, the same the CLI prints.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from distillery_rollout_controller.config import ControllerConfig
from distillery_rollout_controller.views import RolloutViews


MAX_ROUTE_NAME = 256
"""Longest route name looked up; the voice platform's routes are short names like ``clinic-voice``."""
V = TypeVar("V")


@dataclass(frozen=True)
class CachedTable:
    version: int
    body: bytes
    read_at: float

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


class RouteCache:
    """Tables as JSON bytes, read from the database at most once per ``max_age_s`` per route.

    Bounded: at most ``max_routes`` tables, and as many names that have none, the least
    recently asked for dropped first. The two are kept apart, so a client asking for random
    names churns only the second and the real routes stay cached. A name no route can have
    is answered without a read.
    """

    def __init__(self, views: RolloutViews, max_age_s: float, max_routes: int = 1_024) -> None:
        self._views = views
        self._max_age_s = max_age_s
        self._max_routes = max_routes
        self._tables: OrderedDict[str, CachedTable] = OrderedDict()
        self._missing: OrderedDict[str, float] = OrderedDict()
        """Names without a table, and when that was read."""
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._tables) + len(self._missing)

    async def get(self, route: str) -> CachedTable | None:
        if len(route) > MAX_ROUTE_NAME or "\x00" in route:
            return None
        found, table = self._cached(route)
        if found:
            return table
        async with self._lock:  # one database read for a burst of requests
            found, table = self._cached(route)
            return table if found else await self._read(route)

    def _cached(self, route: str) -> tuple[bool, CachedTable | None]:
        now = time.monotonic()
        table = self._tables.get(route)
        if table is not None and now - table.read_at < self._max_age_s:
            self._tables.move_to_end(route)
            return True, table
        read_at = self._missing.get(route)
        if read_at is not None and now - read_at < self._max_age_s:
            self._missing.move_to_end(route)
            return True, None
        return False, None

    async def _read(self, route: str) -> CachedTable | None:
        table = await self._views.route_table(route)
        now = time.monotonic()
        self._tables.pop(route, None)
        self._missing.pop(route, None)
        if table is None:
            _remember(self._missing, route, now, self._max_routes)
            return None
        cached = CachedTable(table.version, table.model_dump_json().encode(), now)
        _remember(self._tables, route, cached, self._max_routes)
        return cached


def _remember(entries: OrderedDict[str, V], key: str, value: V, bound: int) -> None:
    entries[key] = value
    while len(entries) > bound:
        entries.popitem(last=False)


def api_routes(sessions: async_sessionmaker[AsyncSession], config: ControllerConfig,
               clock: Callable[[], datetime], route_cache_s: float) -> Sequence[BaseRoute]:
    views = RolloutViews(sessions, config, clock)
    cache = RouteCache(views, route_cache_s)

    async def get_route(request: Request) -> Response:
        route = request.path_params["route"]
        table = await cache.get(route)
        if table is None:
            return JSONResponse({"error": "NotFound", "message": f"no routing table for route {route!r}"},
                                status_code=404)
        headers = {"ETag": table.etag, "Cache-Control": "no-cache"}
        if table.etag in _etags(request.headers.get("if-none-match")):
            return Response(status_code=304, headers=headers)
        return Response(table.body, media_type="application/json", headers=headers)

    async def list_rollouts(request: Request) -> Response:
        limit = _positive(request, "limit", int, 10, most=MAX_LIMIT)
        doc = await views.status(limit=limit)
        return JSONResponse(doc.model_dump(mode="json"))

    async def get_rollout(request: Request) -> Response:
        rollout_id = request.path_params["rollout_id"]
        view = await views.rollout(rollout_id)
        if view is None:
            return JSONResponse({"error": "NotFound", "message": f"no rollout {rollout_id!r}"}, status_code=404)
        return JSONResponse(view.model_dump(mode="json"))

    async def get_report(request: Request) -> Response:
        volume = _positive(request, "calls_per_day", float, None, most=MAX_CALLS_PER_DAY)
        report = await views.costs(volume)
        if report is None:
            return JSONResponse({"error": "NotFound", "message": "no routing table yet"}, status_code=404)
        return JSONResponse(report.model_dump(mode="json"))

    return [
        Route("/v1/routes/{route}", get_route, methods=["GET"]),
        Route("/v1/rollouts", _answering_bad_queries(list_rollouts), methods=["GET"]),
        Route("/v1/rollouts/{rollout_id}", get_rollout, methods=["GET"]),
        Route("/v1/report", _answering_bad_queries(get_report), methods=["GET"]),
    ]


MAX_LIMIT = 1_000
"""Most rollouts one status page lists."""
MAX_CALLS_PER_DAY = 1e12
"""Largest daily volume a report projects (keeps every projected cost a finite JSON number)."""


class BadQuery(ValueError):
    """A query parameter that is not what the endpoint accepts."""


Endpoint = Callable[[Request], Awaitable[Response]]
N = TypeVar("N", int, float)
D = TypeVar("D")


def _answering_bad_queries(endpoint: Endpoint) -> Endpoint:
    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except BadQuery as exc:
            return JSONResponse({"error": "InvalidRequest", "message": str(exc)}, status_code=400)

    return guarded


def _positive(request: Request, name: str, kind: type[N], default: D, *, most: N) -> N | D:
    """A positive, finite query number up to ``most``: NaN, infinity and numbers beyond a
    database integer or a JSON float would otherwise reach the query or the answer (a 500)."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise BadQuery(f"{name} must be a positive number, got {raw[:40]!r}") from None
    if not math.isfinite(value) or value <= 0 or value > most:
        raise BadQuery(f"{name} must be a positive number up to {most:g}, got {raw[:40]!r}")
    return value


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}

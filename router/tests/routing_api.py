"""The controller's two routing sources as the follower tests fake them (its HTTP API, its compacted
topic), and a follower that polls the API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from distillery_router import RouteTable, Router, RoutingTableFollower

TableFactory = Callable[..., RouteTable]
Eventually = Callable[..., Awaitable[None]]
ROUTE = "voice-agent"
BASE_URL = "http://rollout-controller:8080"


class FakeRoutingApi:
    """The controller's GET /v1/routes/{route}, served through httpx.MockTransport.

    Records every request so tests can check what the follower sent.
    """

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.failure: int | Exception | None = None
        self.requests: list[httpx.Request] = []

    def serve(self, table: RouteTable) -> None:
        self.bodies[table.route] = table.model_dump_json().encode()

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if isinstance(self.failure, Exception):
            raise self.failure
        if self.failure is not None:
            return httpx.Response(self.failure, text="controller unavailable")
        route = request.url.path.removeprefix("/v1/routes/")
        if route not in self.bodies:
            return httpx.Response(404, json={"detail": f"no route {route}"})
        etag = f'"{hash(self.bodies[route])}"'
        if request.headers.get("If-None-Match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(200, content=self.bodies[route], headers={"ETag": etag})

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))


def follower_for(api: FakeRoutingApi, router: Router, **options: object) -> RoutingTableFollower:
    options.setdefault("poll_interval", 60.0)
    return RoutingTableFollower(
        router, routes=[ROUTE], base_url=BASE_URL, http_client=api.client(), **options
    )


@dataclass
class Record:
    """The fields of aiokafka's ConsumerRecord the source reads."""

    key: bytes | None
    value: bytes | None
    offset: int
    headers: tuple[tuple[str, bytes], ...] = ()


def record_of(table: RouteTable, offset: int, event_type: str = "RouteTableUpdated") -> Record:
    headers = (("event-id", f"{table.route}:v{table.version}".encode()), ("event-type", event_type.encode()))
    return Record(table.route.encode(), table.model_dump_json().encode(), offset, headers)


@dataclass
class FakeTableConsumer:
    """Replays records, then waits like a consumer at the end of the topic.

    ``fail_on_start`` makes start() raise as aiokafka does when no broker answers.
    """

    records: list[Record]
    fail_on_start: Exception | None = None
    events: list[str] = field(default_factory=list)

    async def start(self) -> None:
        self.events.append("start")
        if self.fail_on_start is not None:
            raise self.fail_on_start

    async def stop(self) -> None:
        self.events.append("stop")

    async def __aiter__(self) -> AsyncIterator[Record]:
        for record in self.records:
            yield record
        await asyncio.Event().wait()

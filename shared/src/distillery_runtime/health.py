"""The small HTTP server every service runs: /healthz, /readyz, /metrics, plus its own routes."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from distillery_runtime.auth import BearerAuth


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the service owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def build_app(service: str, readiness: Callable[[], dict[str, bool]],
              routes: Sequence[BaseRoute] = (), tokens: Iterable[str] = (),
              public_routes: bool = False) -> Starlette:
    """The server's app: every path but the health checks needs one of ``tokens`` (see auth.py);
    with ``public_routes``, only /metrics does (the service's routes authenticate people themselves)."""
    async def healthz(_: Request) -> Response:
        return JSONResponse({"service": service, "status": "ok"})

    async def readyz(_: Request) -> Response:
        checks = readiness()
        ready = all(checks.values())
        return JSONResponse({"service": service, "ready": ready, "checks": checks},
                            status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        *routes,
    ], middleware=[Middleware(BearerAuth, tokens=list(tokens), only=["/metrics"] if public_routes else None)])


class HttpServer:
    """Binds its socket up front so the chosen port is known before serving starts."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this; without it small answers wait ~40 ms (Nagle).
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        self._server = _QuietServer(uvicorn.Config(app, log_level="warning", lifespan="off"))

    async def serve(self) -> None:
        await self._server.serve(sockets=[self._socket])

    def stop(self) -> None:
        self._server.should_exit = True

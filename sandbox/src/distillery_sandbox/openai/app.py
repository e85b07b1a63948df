"""The sandbox's Starlette app: both flavours, the management plane and /sandbox/ routes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from distillery_sandbox.openai.account import Account
from distillery_sandbox.openai.arm_routes import arm_routes
from distillery_sandbox.openai.chat_routes import chat_routes
from distillery_sandbox.openai.config import SandboxConfig
from distillery_sandbox.openai.errors import ApiError
from distillery_sandbox.openai.chat_models import TeacherDrift
from distillery_sandbox.openai.faults import Faults
from distillery_sandbox.openai.http import Guard, flavour_of, json_body
from distillery_sandbox.openai.routes import ProviderApi
from distillery_sandbox.openai.snapshot import Snapshot


@dataclass
class Sandbox:
    """The running sandbox's state: one account per flavour, and where it is saved."""

    config: SandboxConfig
    accounts: dict[str, Account] = field(default_factory=dict)
    snapshot: Snapshot | None = None
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="sandbox-training"))

    @classmethod
    def build(cls, config: SandboxConfig) -> Sandbox:
        sandbox = cls(config)
        sandbox.accounts = {flavour: Account(flavour, config, sandbox.executor)
                            for flavour in ("openai", "azure")}
        if config.snapshot_path is not None:
            sandbox.snapshot = Snapshot(config.snapshot_path)
            sandbox.snapshot.load(sandbox.accounts)
        return sandbox

    def save_after(self, path: str) -> None:
        """Save after an API request (chats change nothing worth saving)."""
        if not path.endswith("/chat/completions"):
            self.save()

    def save(self) -> None:
        if self.snapshot is not None:
            for account in self.accounts.values():
                account.jobs.advance(account.now())
            self.snapshot.save(self.accounts)


def create_app(config: SandboxConfig | None = None) -> Starlette:
    """The ASGI app; `app.state.sandbox` holds its `Sandbox`."""
    sandbox = Sandbox.build(config or SandboxConfig())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            sandbox.save()
            sandbox.executor.shutdown(wait=False, cancel_futures=True)

    routes = [
        *ProviderApi("openai", "/v1").routes(),
        *ProviderApi("azure", "/openai").routes(),
        *chat_routes(),
        *arm_routes(),
        Route("/sandbox/v1/health", health, methods=["GET"]),
        Route("/sandbox/v1/faults", get_faults, methods=["GET"]),
        Route("/sandbox/v1/faults", set_faults, methods=["POST"]),
        Route("/sandbox/v1/teacher", get_teacher, methods=["GET"]),
        Route("/sandbox/v1/teacher", set_teacher, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, config=sandbox.config, after=sandbox.save_after)],
        exception_handlers={ApiError: on_api_error, HTTPException: on_http_error},
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    return app


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response(flavour_of(request.url.path) or "openai")


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: f"Unknown request URL: {request.method} {request.url.path}.",
               405: f"Method {request.method} is not allowed on {request.url.path}."}
    error = ApiError(exc.status_code, message.get(exc.status_code, str(exc.detail)),
                     code="unknown_url" if exc.status_code == 404 else None)
    return error.response(flavour_of(request.url.path) or "openai")


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "simulation": True})


async def get_faults(request: Request) -> Response:
    return JSONResponse(request.app.state.sandbox.config.faults.settings())


async def set_faults(request: Request) -> Response:
    """Replace the fault rules: {"rules": [{"status": 429, "every": 3, ...}]}."""
    faults: Faults = request.app.state.sandbox.config.faults
    try:
        faults.replace(Faults.rules_from(await json_body(request)))
    except (TypeError, ValueError) as exc:
        return JSONResponse({"error": {"message": str(exc)}}, status_code=400)
    return JSONResponse(faults.settings())


async def get_teacher(request: Request) -> Response:
    return JSONResponse(request.app.state.sandbox.config.teacher_drift.settings())


async def set_teacher(request: Request) -> Response:
    """Rehearse a teacher regression: {"wrong_fact_rate": 0.6} (0 restores the teacher)."""
    drift: TeacherDrift = request.app.state.sandbox.config.teacher_drift
    body = await json_body(request)
    rate = body.get("wrong_fact_rate") if isinstance(body, dict) else None
    try:
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise ValueError('expected {"wrong_fact_rate": <number between 0 and 1>}')
        drift.set(float(rate))
    except ValueError as exc:
        return JSONResponse({"error": {"message": str(exc)}}, status_code=400)
    return JSONResponse(drift.settings())

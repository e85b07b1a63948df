"""The Langfuse sandbox's HTTP app: the public API endpoints Distillery uses, plus /sandbox/.

Routes under /api/public/ follow the Langfuse OpenAPI document; routes under /sandbox/
exist only here (feeding traffic, faults, counts) and are marked so by their prefix.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from distillery_sandbox.langfuse.faults import Faults, break_observation
from distillery_sandbox.langfuse.filters import QueryError
from distillery_sandbox.langfuse.otlp import observations_from_body
from distillery_sandbox.langfuse.queries import encode_cursor, parse_observations_query, parse_scores_query
from distillery_sandbox.langfuse.render import render_observation, render_score
from distillery_sandbox.langfuse.scores import ScoreRejected, accept_score
from distillery_sandbox.langfuse.simulate_route import simulation_from_body
from distillery_sandbox.langfuse.store import LangfuseStore

SANDBOX_VERSION = "3.0.0-distillery-sandbox"
_BAD_CREDENTIALS = "Invalid credentials. Confirm that you've configured the correct host."


@dataclass
class Project:
    """A Langfuse project served by the sandbox: its API key pair and its data."""

    public_key: str
    secret_key: str
    store: LangfuseStore


def error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """Langfuse's error body: {"error": <kind>, "message": <what went wrong>}."""
    return JSONResponse({"error": kind, "message": message}, status_code=status, headers=headers)


Handler = Callable[[Request, Project], Awaitable[Response]]


class _Api:
    """Authentication, fault injection and 400s around every project-scoped handler."""

    def __init__(self, projects: Sequence[Project], faults: Faults):
        if not projects:
            raise ValueError("the sandbox needs at least one project (a key pair)")
        keys = [p.public_key for p in projects]
        if len(set(keys)) != len(keys):
            raise ValueError("each project needs its own public key")
        self.projects = {p.public_key: p for p in projects}
        self.faults = faults

    def authenticate(self, request: Request) -> Project | JSONResponse:
        header = request.headers.get("authorization")
        if not header:
            return error(401, "UnauthorizedError", "No authorization header",
                         {"WWW-Authenticate": 'Basic realm="Langfuse"'})
        scheme, _, encoded = header.partition(" ")
        try:
            public, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            public, secret = "", ""
        project = self.projects.get(public) if scheme.lower() == "basic" else None
        if project is None or not hmac.compare_digest(project.secret_key, secret):
            return error(401, "UnauthorizedError", _BAD_CREDENTIALS)
        return project

    def route(self, handler: Handler, *, faults: bool = True) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            project = self.authenticate(request)
            if isinstance(project, JSONResponse):
                return project
            injected = self.faults.next_request() if faults else None
            if injected == 429:
                retry = str(self.faults.retry_after_seconds)
                return error(429, "TooManyRequestsError", "Rate limit exceeded (sandbox fault)",
                             {"Retry-After": retry})
            if injected == 500:
                return error(500, "InternalServerError", "Internal server error (sandbox fault)")
            try:
                return await handler(request, project)
            except (QueryError, ScoreRejected) as exc:
                return error(400, "InvalidRequestError", str(exc))

        return endpoint


async def health(request: Request) -> Response:
    return JSONResponse({"status": "OK", "version": SANDBOX_VERSION})


def create_app(projects: Sequence[Project], faults: Faults | None = None) -> Starlette:
    """The sandbox app serving these projects (a key pair each), with optional faults."""
    api = _Api(projects, faults or Faults())

    async def list_observations(request: Request, project: Project) -> Response:
        query = parse_observations_query(request.query_params)
        page = project.store.observations_page(query.page)
        data = []
        for record in page.records:
            rendered = render_observation(record, query.groups, query.expand_metadata)
            kind = api.faults.malformed.get(record["id"])
            data.append(break_observation(rendered, kind) if kind else rendered)
        meta = {"cursor": encode_cursor(page.next_key)} if page.next_key else {}
        return JSONResponse({"data": data, "meta": meta})

    async def list_scores(request: Request, project: Project) -> Response:
        query = parse_scores_query(request.query_params)
        page = project.store.scores_page(query.page)
        meta: dict[str, Any] = {"limit": query.page.limit}
        if page.next_key:
            meta["cursor"] = encode_cursor(page.next_key)
        return JSONResponse({"data": [render_score(s, query.groups) for s in page.records],
                             "meta": meta})

    async def create_scores(request: Request, project: Project) -> Response:
        body = await _json_body(request)
        if isinstance(body, list):
            return _create_batch(project, body)
        score = accept_score(body, project.store.project_id, project.store.now())
        project.store.put_score(score)
        return JSONResponse({"id": score["id"]})

    async def export_traces(request: Request, project: Project) -> Response:
        content_type = request.headers.get("content-type", "application/x-protobuf")
        records = observations_from_body(await request.body(), content_type,
                                         request.headers.get("content-encoding"),
                                         project.store.project_id)
        for record in records:
            project.store.put_observation(record)
        if "json" in content_type:
            return JSONResponse({})
        return Response(ExportTraceServiceResponse().SerializeToString(),
                        media_type="application/x-protobuf")

    async def simulate(request: Request, project: Project) -> Response:
        body = await _json_body(request)

        def run() -> tuple[int, int]:
            calls = simulation_from_body(body if body is not None else {}, project.store.now())
            return project.store.add_calls(calls)

        observations, scores = await run_in_threadpool(run)
        return JSONResponse({"observations": observations, "scores": scores,
                             "total": project.store.counts()})

    async def stats(request: Request, project: Project) -> Response:
        return JSONResponse({"project": project.store.project_id, **project.store.counts(),
                             "lag_seconds": project.store.lag.total_seconds(),
                             "faults": api.faults.settings()})

    async def set_faults(request: Request, project: Project) -> Response:
        try:
            api.faults.update(await _json_body(request) or {})
        except (TypeError, ValueError) as exc:
            raise QueryError(f"invalid fault settings: {exc}") from exc
        return JSONResponse(api.faults.settings())

    routes = [
        Route("/api/public/health", health, methods=["GET"]),
        Route("/api/public/v2/observations", api.route(list_observations), methods=["GET"]),
        Route("/api/public/v3/scores", api.route(list_scores), methods=["GET"]),
        Route("/api/public/scores", api.route(create_scores), methods=["POST"]),
        Route("/api/public/otel/v1/traces", api.route(export_traces), methods=["POST"]),
        Route("/sandbox/v1/simulate", api.route(simulate, faults=False), methods=["POST"]),
        Route("/sandbox/v1/stats", api.route(stats, faults=False), methods=["GET"]),
        Route("/sandbox/v1/faults", api.route(set_faults, faults=False), methods=["POST"]),
    ]
    return Starlette(routes=routes)


def _create_batch(project: Project, bodies: list[Any]) -> Response:
    """SDK 5.x sends a list: 202 when all are accepted, 207 with the rejections otherwise."""
    errors = []
    for body in bodies:
        try:
            score = accept_score(body, project.store.project_id, project.store.now())
        except ScoreRejected as exc:
            errors.append({"message": str(exc)})
            continue
        project.store.put_score(score)
    if not errors:
        return JSONResponse({"message": "Accepted"}, status_code=202)
    return JSONResponse({"accepted": len(bodies) - len(errors), "rejected": len(errors),
                         "errors": errors}, status_code=207)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise QueryError(f"request body is not valid JSON: {exc.msg}") from exc

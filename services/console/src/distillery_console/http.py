"""The console's pages: server-rendered HTML (Jinja2, autoescaped) and one steering form.

- ``GET /``: overview; ``GET /live`` its live part, which the page re-reads every few seconds.
- ``GET /cycles/{cycle_id}``: a cycle from dataset to rollout.
- ``GET /evaluations/{run_id}/answers``: answer by answer (``?failing=1``, ``?page=N``).
- ``POST /rollouts/{rollout_id}/steer``: pause, resume, abort or advance, as the CLI does.

Every model answer reaches the page through ``{{ }}`` with autoescaping on, so it is text,
never markup; the only script is the package's own static file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from distillery_console import __version__
from distillery_console.services import STEERING, SteeringRefused, steer_rollout
from distillery_console.views import ConsoleViews
from distillery_runtime.signing import SigningKey
from distillery_runtime.uow import UnitOfWork

HERE = Path(__file__).parent


class CachedStaticFiles(StaticFiles):
    """The console's own CSS and JS, cached by browsers for a year: pages name them with the
    package version (``?v=``), so a new release is fetched and a page load costs no revalidation."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, auto_reload=False)
    env.filters["pct"] = lambda v: "–" if v is None else f"{v:.1%}"
    env.filters["num"] = lambda v: "–" if v is None else f"{v:.4g}"
    env.filters["usd"] = lambda v: "–" if v is None else f"${v:,.5f}"
    env.filters["when"] = lambda v: v.strftime("%Y-%m-%d %H:%M UTC") if v else "–"
    return env


def console_routes(views: ConsoleViews, new_uow: Callable[[], UnitOfWork], clock: Callable[[], datetime],
                   refresh_s: float, langfuse_host: str | None = None,
                   signers: Mapping[str, SigningKey] | None = None) -> Sequence[BaseRoute]:
    """The pages; ``signers``: the operators' keys by identity (the page offers those identities)."""
    env = templates()
    common = {"version": __version__, "refresh_ms": int(refresh_s * 1000), "actions": list(STEERING), "langfuse_host": langfuse_host,
              "operators": sorted(signers or {})}

    def page(name: str, status: int = 200, **context: object) -> HTMLResponse:
        html = env.get_template(name).render(**common, **context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    async def overview(request: Request) -> Response:
        notice = request.query_params.get("sent")
        return page("overview.html", overview=await views.overview(), notice=notice)

    async def live(_: Request) -> Response:
        return page("_live.html", overview=await views.overview())

    async def cycle(request: Request) -> Response:
        cycle_id = request.path_params["cycle_id"]
        view = await views.cycle(cycle_id)
        if view is None:
            return page("missing.html", 404, what=f"no cycle {cycle_id!r} in the console's read model")
        return page("cycle.html", view=view)

    async def answers(request: Request) -> Response:
        failing = request.query_params.get("failing") in ("1", "true", "on")
        page_number = _int(request.query_params.get("page"), 1)
        view = await views.answers(request.path_params["run_id"], failing, page_number)
        return page("answers.html", view=view)

    async def steer(request: Request) -> Response:
        rollout_id = request.path_params["rollout_id"]
        if not _same_origin(request):
            return page("missing.html", 403, what="steering is accepted only from the console's own pages")
        form = await request.form()
        try:
            async with new_uow() as uow:
                command = steer_rollout(uow, str(form.get("action", "")), rollout_id, str(form.get("operator", "")),
                                        str(form.get("reason", "")), form.get("confirm") == "yes", clock, signers)
                await uow.commit()
        except SteeringRefused as exc:
            return page("overview.html", 400, overview=await views.overview(), error=str(exc))
        sent = f"{command.event_type} sent for {rollout_id} as {command.requested_by}"
        return RedirectResponse(f"/?sent={quote(sent)}", status_code=303)

    return [
        Route("/", overview, methods=["GET"]),
        Route("/live", live, methods=["GET"]),
        Route("/cycles/{cycle_id}", cycle, methods=["GET"]),
        Route("/evaluations/{run_id}/answers", answers, methods=["GET"]),
        Route("/rollouts/{rollout_id}/steer", steer, methods=["POST"]),
        Mount("/static", CachedStaticFiles(directory=HERE / "static"), name="static"),
    ]


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default


def _same_origin(request: Request) -> bool:
    """A form posted from another site (cross-site request forgery) carries its Origin."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")

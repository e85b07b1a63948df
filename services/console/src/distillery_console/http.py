"""The console's pages: server-rendered HTML (Jinja2, autoescaped) and one steering form.

- ``GET /``: overview; ``GET /live`` its live part, which the page re-reads every few seconds.
- ``GET /cycles/{cycle_id}``: a cycle from dataset to rollout.
- ``GET /evaluations/{run_id}/answers``: answer by answer (``?failing=1``, ``?page=N``).
- ``POST /rollouts/{rollout_id}/steer``: pause, resume, abort or advance, as the CLI does.
- ``GET /data``: a cleaner version's examples (``?version=``, ``?kind=accepted|rejected``,
  ``?reason=``, ``?page=N``), each with its Langfuse trace.
- ``GET /data/dead-letters``: dead letters by topic and reason (``?topic=``, ``?reason=``).
- ``POST /data/dead-letters/republish``: put a letter's message back on its topic, as an
  operator, with the same rules as steering.
- ``/sign-in``, ``/sign-out``: every page above needs a session cookie from the sign-in page or
  an API token as a bearer header (``signed_in``, see ``distillery_runtime.auth``).

Every model answer reaches the page through ``{{ }}`` with autoescaping on, so it is text,
never markup; the only script is the package's own static file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from distillery_console import __version__
from distillery_console.adapters.health import HealthBoard
from distillery_console.data_views import DataViews
from distillery_console.handlers import DataStoreFactory
from distillery_console.services import STEERING, SteeringRefused, republish_dead_letter, steer_rollout
from distillery_console.views import ConsoleViews
from distillery_runtime.auth import BrowserSessions, browser_pages, same_origin
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
    env.filters["settings"] = settings_as_code
    return env


_SETTING = re.compile(r"DISTILLERY_[A-Z0-9_]+(?:=[A-Za-z0-9_.:/-]+)?")


def settings_as_code(text: str) -> Markup:
    """``text`` escaped, with each ``DISTILLERY_…`` variable (and the value it is to be set to)
    as code: advice an operator copies from."""
    return Markup(_SETTING.sub(lambda m: f"<code>{m.group(0)}</code>", str(escape(text))))


def console_routes(views: ConsoleViews, new_uow: Callable[[], UnitOfWork], clock: Callable[[], datetime],
                   refresh_s: float, langfuse_host: str | None = None,
                   signers: Mapping[str, SigningKey] | None = None, *, data: DataViews | None = None,
                   data_store: DataStoreFactory | None = None,
                   health: HealthBoard | None = None) -> Sequence[BaseRoute]:
    """The pages; ``signers``: the operators' keys by identity (the page offers those identities);
    ``data`` and ``data_store``: the Data page's reads and its store in a unit of work (no Data
    page without them); ``health``: the services' health and lag the overview shows."""
    env = templates()
    common = {"version": __version__, "refresh_ms": int(refresh_s * 1000), "actions": list(STEERING), "langfuse_host": langfuse_host,
              "operators": sorted(signers or {}), "has_data": data is not None}

    def health_now() -> object:
        return health.snapshot if health else None

    def page(name: str, status: int = 200, **context: object) -> HTMLResponse:
        html = env.get_template(name).render(**common, **context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    async def overview(request: Request) -> Response:
        notice = request.query_params.get("sent")
        return page("overview.html", overview=await views.overview(), notice=notice, health=health_now())

    async def live(_: Request) -> Response:
        return page("_live.html", overview=await views.overview(), health=health_now())

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
        if not same_origin(request):
            return page("missing.html", 403, what="steering is accepted only from the console's own pages")
        form = await request.form()
        try:
            async with new_uow() as uow:
                command = steer_rollout(uow, str(form.get("action", "")), rollout_id, str(form.get("operator", "")),
                                        str(form.get("reason", "")), form.get("confirm") == "yes", clock, signers)
                await uow.commit()
        except SteeringRefused as exc:
            return page("overview.html", 400, overview=await views.overview(), error=str(exc), health=health_now())
        sent = f"{command.event_type} sent for {rollout_id} as {command.requested_by}"
        return RedirectResponse(f"/?sent={quote(sent)}", status_code=303)

    async def examples(request: Request) -> Response:
        assert data is not None
        q = request.query_params
        view = await data.examples(q.get("version") or None, q.get("kind", "accepted"), q.get("reason") or None,
                                   _int(q.get("page"), 1))
        return page("data.html", view=view)

    async def letters(request: Request, status: int = 200, **context: object) -> Response:
        assert data is not None
        q = request.query_params
        view = await data.letters(q.get("topic") or None, q.get("reason") or None, _int(q.get("page"), 1))
        return page("dead_letters.html", status, view=view, notice=q.get("sent"), **context)

    async def republish(request: Request) -> Response:
        assert data_store is not None
        if not same_origin(request):
            return page("missing.html", 403, what="republishing is accepted only from the console's own pages")
        form = await request.form()
        letter_id = str(form.get("letter_id", ""))
        try:
            async with new_uow() as uow:
                topic = await republish_dead_letter(data_store(uow), letter_id, str(form.get("operator", "")),
                                                    str(form.get("reason", "")), form.get("confirm") == "yes",
                                                    clock, signers)
                await uow.commit()
        except SteeringRefused as exc:
            return await letters(request, 400, error=str(exc))
        sent = f"{letter_id} republished to {topic} by {str(form.get('operator', '')).strip()}"
        return RedirectResponse(f"/data/dead-letters?sent={quote(sent)}", status_code=303)

    data_routes = [
        Route("/data", examples, methods=["GET"]),
        Route("/data/dead-letters", letters, methods=["GET"]),
        Route("/data/dead-letters/republish", republish, methods=["POST"]),
    ] if data is not None and data_store is not None else []
    return [
        *data_routes,
        Route("/", overview, methods=["GET"]),
        Route("/live", live, methods=["GET"]),
        Route("/cycles/{cycle_id}", cycle, methods=["GET"]),
        Route("/evaluations/{run_id}/answers", answers, methods=["GET"]),
        Route("/rollouts/{rollout_id}/steer", steer, methods=["POST"]),
        Mount("/static", CachedStaticFiles(directory=HERE / "static"), name="static"),
    ]


def signed_in(routes: Sequence[BaseRoute], sessions: BrowserSessions) -> list[BaseRoute]:
    """The console's pages behind its sign-in page. /static stays open: it holds the package's
    own CSS and JS, the same in every install and free of data, and the sign-in page needs them."""
    env = templates()

    def render(error: str | None, next_path: str) -> str:
        return env.get_template("sign_in.html").render(version=__version__, error=error, next=next_path,
                                                       session_hours=sessions.max_age_s / 3600)

    return browser_pages(routes, sessions, render, open_prefixes=("/static/",))


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default

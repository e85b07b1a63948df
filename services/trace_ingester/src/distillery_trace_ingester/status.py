"""``GET /status``: watermarks, backfills and imports, for operators and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from distillery_runtime.service import ServiceContext
from distillery_trace_ingester.adapters.repository import AbstractIngesterRepository, SqlIngesterRepository


async def ingester_status(repo: AbstractIngesterRepository, now: datetime | None = None) -> dict[str, Any]:
    """Where each project stands, and the latest backfills and imports."""
    now = now or datetime.now(UTC)
    return {
        "projects": [{"project_id": p.project_id, "watermark": p.watermark.isoformat(),
                      "behind_s": round((now - p.watermark).total_seconds(), 1)}
                     for p in await repo.progress()],
        "backfills": [{"backfill_id": b.backfill_id, "project_id": b.project_id,
                       "from": b.from_time.isoformat(), "to": b.to_time.isoformat(),
                       "position": b.position.isoformat(), "done": b.done,
                       "requested_by": b.requested_by, **b.counts.as_dict()}
                      for b in await repo.recent_backfills()],
        "imports": [{"run_id": r.run_id, "project_id": r.project_id, "file": r.file,
                     "started_at": r.started_at.isoformat(),
                     "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                     "bad_lines": r.bad_lines, **r.counts.as_dict()}
                    for r in await repo.recent_imports()],
    }


def status_routes(ctx: ServiceContext) -> Sequence[BaseRoute]:
    async def status(request: Request) -> JSONResponse:
        async with ctx.sessions() as session:
            return JSONResponse(await ingester_status(SqlIngesterRepository(session)))

    return [Route("/status", status, methods=["GET"])]

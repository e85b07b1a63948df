"""Every read of the ingester's state: ``GET /status`` and ``distillery ingest status``.

Plain read models only: where each project's live capture stands, and the latest
backfills and imports with what they did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from distillery_runtime.db import open_service_schema
from distillery_trace_ingester.adapters.store import SqlIngesterStore
from distillery_trace_ingester.config import NAME, SCHEMA
from distillery_trace_ingester.domain.records import Backfill, Counts, ImportRun, ProjectProgress


@dataclass(frozen=True)
class ProjectView:
    """Where live capture of one project stands."""

    project_id: str
    watermark: datetime
    behind_s: float

    def as_json(self) -> dict[str, Any]:
        return {"project_id": self.project_id, "watermark": self.watermark.isoformat(), "behind_s": self.behind_s}


@dataclass(frozen=True)
class BackfillView:
    """A requested re-read of a time range and how far it got."""

    backfill_id: str
    project_id: str
    from_time: datetime
    to_time: datetime
    position: datetime
    done: bool
    requested_by: str
    counts: Counts

    def as_json(self) -> dict[str, Any]:
        return {"backfill_id": self.backfill_id, "project_id": self.project_id,
                "from": self.from_time.isoformat(), "to": self.to_time.isoformat(),
                "position": self.position.isoformat(), "done": self.done,
                "requested_by": self.requested_by, **self.counts.as_dict()}


@dataclass(frozen=True)
class ImportView:
    """One import of an export file and what it did."""

    run_id: str
    project_id: str
    file: str
    started_at: datetime
    finished_at: datetime | None
    bad_lines: int
    counts: Counts

    def as_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "project_id": self.project_id, "file": self.file,
                "started_at": self.started_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "bad_lines": self.bad_lines, **self.counts.as_dict()}


@dataclass(frozen=True)
class IngesterStatus:
    """Every project's watermark, and the latest backfills and imports (newest first)."""

    projects: list[ProjectView]
    backfills: list[BackfillView]
    imports: list[ImportView]

    @property
    def empty(self) -> bool:
        return not self.projects and not self.backfills and not self.imports

    def as_json(self) -> dict[str, Any]:
        """The document ``GET /status`` serves."""
        return {"projects": [p.as_json() for p in self.projects],
                "backfills": [b.as_json() for b in self.backfills],
                "imports": [r.as_json() for r in self.imports]}


async def ingester_status(sessions: async_sessionmaker[AsyncSession], now: datetime | None = None) -> IngesterStatus:
    """Where each project stands, and the latest backfills and imports."""
    now = now or datetime.now(UTC)
    async with sessions() as session:
        store = SqlIngesterStore(session)
        return IngesterStatus(
            projects=[_project(p, now) for p in await store.progress()],
            backfills=[_backfill(b) for b in await store.recent_backfills()],
            imports=[_import(r) for r in await store.recent_imports()])


async def read_status(database_url: str) -> IngesterStatus:
    """The ingester's status from outside the service (the CLI)."""
    async with open_service_schema(database_url, SCHEMA, NAME) as sessions:
        return await ingester_status(sessions)


def _project(p: ProjectProgress, now: datetime) -> ProjectView:
    return ProjectView(p.project_id, p.watermark, round((now - p.watermark).total_seconds(), 1))


def _backfill(b: Backfill) -> BackfillView:
    return BackfillView(b.backfill_id, b.project_id, b.from_time, b.to_time, b.position, b.done,
                        b.requested_by, b.counts)


def _import(r: ImportRun) -> ImportView:
    return ImportView(r.run_id, r.project_id, r.file, r.started_at, r.finished_at, r.bad_lines, r.counts)

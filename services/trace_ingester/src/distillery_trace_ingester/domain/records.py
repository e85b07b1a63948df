"""What the ingester remembers: published generations, sent scores, backfills, imports."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum


class Outcome(StrEnum):
    """What became of a generation the ingester read."""

    PUBLISHED = "published"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class Claim:
    """A generation about to be published (or dead-lettered): claimed once per project."""

    observation_id: str
    trace_id: str
    session_id: str | None
    start_time: datetime | None
    outcome: Outcome


@dataclass(frozen=True)
class Target:
    """Where a published generation's late scores go: its trace and session (the key)."""

    trace_id: str
    session_id: str | None


@dataclass
class Counts:
    """What one window, backfill or import did."""

    published: int = 0
    dead_lettered: int = 0
    already_published: int = 0
    deferred: int = 0
    skipped: int = 0
    late_scores: int = 0
    pages: int = 0

    def add(self, other: Counts) -> Counts:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Backfill:
    """A requested re-read of ``[from_time, to_time)`` in one project, and how far it got."""

    backfill_id: str
    project_id: str
    from_time: datetime
    to_time: datetime
    position: datetime
    requested_by: str
    requested_at: datetime
    done: bool = False
    counts: Counts = field(default_factory=Counts)


@dataclass
class ImportRun:
    """One ``distillery ingest import`` of an export file."""

    run_id: str
    project_id: str
    file: str
    scores_file: str | None
    started_at: datetime
    finished_at: datetime | None = None
    bad_lines: int = 0
    counts: Counts = field(default_factory=Counts)


@dataclass(frozen=True)
class ProjectProgress:
    """A project's watermark, as ``distillery ingest status`` shows it."""

    project_id: str
    watermark: datetime
    updated_at: datetime

"""The ingester's memory: watermarks, what was published, sent scores, backfills, imports.

Claims are ``INSERT ... ON CONFLICT DO NOTHING RETURNING``: whoever inserts a row first
publishes, so two processes (or the poller and an import) never both publish a
generation, and a replayed window publishes nothing twice.
"""

from __future__ import annotations

import abc
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import DateTime, Text, TextClause, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from distillery_runtime.uow import UnitOfWork
from distillery_trace_ingester.adapters.tables import backfills, import_runs, watermarks
from distillery_trace_ingester.domain.records import (
    Backfill,
    Claim,
    Counts,
    ImportRun,
    ProjectProgress,
    Target,
)

def _by_ids(sql: str) -> TextClause:
    """``sql`` with ``:ids`` bound as one array of observation ids. Arrays instead of one bind
    parameter per row: one statement, prepared once, any batch size."""
    return text(sql).bindparams(bindparam("ids", type_=ARRAY(Text)))


_PUBLISHED_IDS = _by_ids(
    "select observation_id from published where project_id = :project and observation_id = any(:ids)"
)
_CLAIM = text(
    "insert into published (project_id, observation_id, trace_id, session_id, start_time, outcome) "
    "select :project, * from unnest(:ids, :traces, :sessions, :starts, :outcomes) "
    "on conflict do nothing returning observation_id"
).bindparams(bindparam("ids", type_=ARRAY(Text)), bindparam("traces", type_=ARRAY(Text)),
             bindparam("sessions", type_=ARRAY(Text)),
             bindparam("starts", type_=ARRAY(DateTime(timezone=True))),
             bindparam("outcomes", type_=ARRAY(Text)))
_DEAD_LETTERED = _by_ids(
    "update published set outcome = 'dead_lettered' where project_id = :project and observation_id = any(:ids)"
)
_TARGETS = _by_ids(
    "select observation_id, trace_id, session_id from published where project_id = :project "
    "and observation_id = any(:ids) and outcome = 'published'"
)
_SENT = _by_ids(
    "select observation_id, score_id from sent_scores where project_id = :project "
    "and observation_id = any(:ids)"
)
_CLAIM_SCORES = text(
    "insert into sent_scores (project_id, observation_id, score_id) "
    "select :project, * from unnest(:ids, :scores) "
    "on conflict do nothing returning observation_id, score_id"
).bindparams(bindparam("ids", type_=ARRAY(Text)), bindparam("scores", type_=ARRAY(Text)))

# A dead letter has no start time: it is forgotten by when it was written.
_FORGET_SCORES = text(
    "delete from sent_scores s using published p where s.project_id = :project "
    "and p.project_id = :project and p.observation_id = s.observation_id "
    "and coalesce(p.start_time, p.published_at) < :before")
_FORGET = text(
    "delete from published where project_id = :project and coalesce(start_time, published_at) < :before")


class AbstractIngesterStore(abc.ABC):
    """Everything the capture, backfill and import use cases read and write.

    A store works inside one unit of work: nothing it writes is visible before the unit
    of work commits, and all of it is gone if it does not.
    """

    @abc.abstractmethod
    async def published_ids(self, project_id: str, observation_ids: Sequence[str]) -> set[str]:
        """Those of ``observation_ids`` already published or dead-lettered."""

    @abc.abstractmethod
    async def claim(self, project_id: str, claims: Sequence[Claim]) -> set[str]:
        """Record ``claims``; return the observation ids that nobody had claimed before."""

    @abc.abstractmethod
    async def mark_dead_lettered(self, project_id: str, observation_ids: Sequence[str]) -> None:
        """Record that claimed generations were dead-lettered after all (their event was refused)."""

    @abc.abstractmethod
    async def targets(self, project_id: str, observation_ids: Sequence[str]) -> dict[str, Target]:
        """Published (not dead-lettered) generations among ``observation_ids``."""

    @abc.abstractmethod
    async def sent_scores(self, project_id: str, observation_ids: Sequence[str]) -> dict[str, set[str]]:
        """Score ids already sent, by observation."""

    @abc.abstractmethod
    async def claim_scores(self, project_id: str, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Record (observation id, score id) pairs as sent; return those not sent before."""

    @abc.abstractmethod
    async def watermark(self, project_id: str) -> datetime | None:
        """Where continuous capture of the project stands; None before its first window."""

    @abc.abstractmethod
    async def advance_watermark(self, project_id: str, position: datetime) -> None:
        """Move the watermark forward (never back)."""

    @abc.abstractmethod
    async def forget(self, project_id: str, started_before: datetime) -> int:
        """Drop the records of generations that started before ``started_before``; how many."""

    @abc.abstractmethod
    async def add_backfills(self, requests: Sequence[Backfill]) -> None:
        """Record requested backfills; a request already recorded is left as it is."""

    @abc.abstractmethod
    async def next_backfill(self, project_id: str) -> Backfill | None:
        """The oldest unfinished backfill of the project."""

    @abc.abstractmethod
    async def save_backfill(self, backfill: Backfill) -> None:
        """Store a backfill's position, counts and whether it is done."""

    @abc.abstractmethod
    async def save_import(self, run: ImportRun) -> None:
        """Insert or update an import run."""

    @abc.abstractmethod
    async def progress(self) -> list[ProjectProgress]:
        """Every project's watermark."""

    @abc.abstractmethod
    async def recent_backfills(self, limit: int = 20) -> list[Backfill]:
        """The latest backfill requests, newest first."""

    @abc.abstractmethod
    async def recent_imports(self, limit: int = 20) -> list[ImportRun]:
        """The latest imports, newest first."""


class SqlIngesterStore(AbstractIngesterStore):
    """The store on the session of a unit of work (nothing commits here)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def published_ids(self, project_id: str, observation_ids: Sequence[str]) -> set[str]:
        rows = await self.session.execute(_PUBLISHED_IDS, {"project": project_id,
                                                           "ids": list(dict.fromkeys(observation_ids))})
        return set(rows.scalars())

    async def claim(self, project_id: str, claims: Sequence[Claim]) -> set[str]:
        unique = list({c.observation_id: c for c in claims}.values())
        if not unique:
            return set()
        rows = await self.session.execute(_CLAIM, {
            "project": project_id, "ids": [c.observation_id for c in unique],
            "traces": [c.trace_id for c in unique], "sessions": [c.session_id for c in unique],
            "starts": [c.start_time for c in unique], "outcomes": [c.outcome.value for c in unique]})
        return set(rows.scalars())

    async def mark_dead_lettered(self, project_id: str, observation_ids: Sequence[str]) -> None:
        await self.session.execute(_DEAD_LETTERED, {"project": project_id, "ids": list(observation_ids)})

    async def targets(self, project_id: str, observation_ids: Sequence[str]) -> dict[str, Target]:
        rows = await self.session.execute(_TARGETS, {"project": project_id,
                                                     "ids": list(dict.fromkeys(observation_ids))})
        return {r.observation_id: Target(r.trace_id, r.session_id) for r in rows}

    async def sent_scores(self, project_id: str, observation_ids: Sequence[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        rows = await self.session.execute(_SENT, {"project": project_id,
                                                  "ids": list(dict.fromkeys(observation_ids))})
        for row in rows:
            out[row.observation_id].add(row.score_id)
        return dict(out)

    async def claim_scores(self, project_id: str, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        unique = list(dict.fromkeys(pairs))
        if not unique:
            return set()
        rows = await self.session.execute(_CLAIM_SCORES, {
            "project": project_id, "ids": [o for o, _ in unique], "scores": [s for _, s in unique]})
        return {(r.observation_id, r.score_id) for r in rows}

    async def watermark(self, project_id: str) -> datetime | None:
        stmt = select(watermarks.c.position).where(watermarks.c.project_id == project_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def advance_watermark(self, project_id: str, position: datetime) -> None:
        stmt = pg_insert(watermarks).values(project_id=project_id, position=position)
        stmt = stmt.on_conflict_do_update(
            index_elements=["project_id"],
            set_={"position": func.greatest(watermarks.c.position, stmt.excluded.position),
                  "updated_at": func.now()})
        await self.session.execute(stmt)

    async def forget(self, project_id: str, started_before: datetime) -> int:
        params = {"project": project_id, "before": started_before}
        await self.session.execute(_FORGET_SCORES, params)
        return (await self.session.execute(_FORGET, params)).rowcount

    async def add_backfills(self, requests: Sequence[Backfill]) -> None:
        if requests:
            rows = [_backfill_row(b) for b in requests]
            await self.session.execute(pg_insert(backfills).values(rows).on_conflict_do_nothing())

    async def next_backfill(self, project_id: str) -> Backfill | None:
        stmt = (select(backfills).where(backfills.c.project_id == project_id, backfills.c.done.is_(False))
                .order_by(backfills.c.requested_at, backfills.c.backfill_id).limit(1))
        row = (await self.session.execute(stmt)).mappings().first()
        return _backfill(row) if row else None

    async def save_backfill(self, backfill: Backfill) -> None:
        stmt = update(backfills).where(backfills.c.backfill_id == backfill.backfill_id).values(
            position=backfill.position, done=backfill.done, counts=backfill.counts.as_dict(),
            updated_at=func.now())
        await self.session.execute(stmt)

    async def save_import(self, run: ImportRun) -> None:
        row = {"run_id": run.run_id, "project_id": run.project_id, "file": run.file,
               "scores_file": run.scores_file, "started_at": run.started_at,
               "finished_at": run.finished_at, "bad_lines": run.bad_lines, "counts": run.counts.as_dict()}
        stmt = pg_insert(import_runs).values(row)
        stmt = stmt.on_conflict_do_update(index_elements=["run_id"], set_={
            k: stmt.excluded[k] for k in ("finished_at", "bad_lines", "counts")})
        await self.session.execute(stmt)

    async def progress(self) -> list[ProjectProgress]:
        rows = await self.session.execute(select(watermarks).order_by(watermarks.c.project_id))
        return [ProjectProgress(r.project_id, r.position, r.updated_at) for r in rows]

    async def recent_backfills(self, limit: int = 20) -> list[Backfill]:
        stmt = select(backfills).order_by(backfills.c.requested_at.desc()).limit(limit)
        return [_backfill(r) for r in (await self.session.execute(stmt)).mappings()]

    async def recent_imports(self, limit: int = 20) -> list[ImportRun]:
        stmt = select(import_runs).order_by(import_runs.c.started_at.desc()).limit(limit)
        return [ImportRun(run_id=r["run_id"], project_id=r["project_id"], file=r["file"],
                          scores_file=r["scores_file"], started_at=r["started_at"],
                          finished_at=r["finished_at"], bad_lines=r["bad_lines"],
                          counts=Counts(**r["counts"]))
                for r in (await self.session.execute(stmt)).mappings()]


StoreFactory = Callable[[UnitOfWork], AbstractIngesterStore]
"""How the use cases get the store of a unit of work; app.py injects :func:`sql_store`."""


def sql_store(uow: UnitOfWork) -> AbstractIngesterStore:
    """The SQL store on ``uow``'s session."""
    return SqlIngesterStore(uow.session)


def _backfill_row(b: Backfill) -> dict:
    return {"backfill_id": b.backfill_id, "project_id": b.project_id, "from_time": b.from_time,
            "to_time": b.to_time, "position": b.position, "requested_by": b.requested_by,
            "requested_at": b.requested_at, "done": b.done, "counts": b.counts.as_dict()}


def _backfill(row) -> Backfill:
    return Backfill(backfill_id=row["backfill_id"], project_id=row["project_id"],
                    from_time=row["from_time"], to_time=row["to_time"], position=row["position"],
                    requested_by=row["requested_by"], requested_at=row["requested_at"],
                    done=row["done"], counts=Counts(**row["counts"]))

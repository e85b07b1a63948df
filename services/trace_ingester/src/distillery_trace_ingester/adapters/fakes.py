"""Every in-memory stand-in of the ingester, for unit tests: Langfuse, its store, its database.

They record what happened (requests made, events committed) so tests assert on it, and
can fail on purpose (a Langfuse outage after N pages, a crash before the Nth commit).
``FakeIngesterStore`` passes the same contract suite as ``SqlIngesterStore``
(tests/test_ingester_store_contract.py), ``FakeLangfuseReader`` the same as
``HttpLangfuseReader`` (tests/test_langfuse_reader_contract.py).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from distillery_contracts.base import Event
from distillery_contracts.envelope import Envelope
from distillery_contracts.privacy import StoreErasure
from distillery_runtime.erasure import AbstractErasureStore, Caller
from distillery_runtime.uow import FakeUnitOfWork, UnitOfWork
from distillery_trace_ingester.adapters.langfuse_client import (
    AbstractLangfuseReader,
    LangfuseConfigError,
    LangfuseError,
)
from distillery_trace_ingester.adapters.erasure_store import erasures
from distillery_trace_ingester.adapters.store import AbstractIngesterStore
from distillery_trace_ingester.domain.measures import parse_time
from distillery_trace_ingester.domain.records import (
    Backfill,
    Claim,
    ImportRun,
    Outcome,
    ProjectProgress,
    Target,
)


class FakeLangfuseReader(AbstractLangfuseReader):
    """A project held in lists; pages newest first like the real API."""

    def __init__(self, project_id: str, observations: Sequence[dict[str, Any]] = (),
                 scores: Sequence[dict[str, Any]] = (), page_size: int = 100) -> None:
        self.project_id = project_id
        self.observations = list(observations)
        self.score_records = list(scores)
        self.page_size = page_size
        self.requests: list[tuple[str, datetime, datetime]] = []
        self.fail_after_pages: int | None = None
        self.config_error: str | None = None

    async def check_access(self) -> None:
        if self.config_error:
            raise LangfuseConfigError(self.config_error)

    async def generations(self, start: datetime, end: datetime) -> AsyncIterator[list[dict[str, Any]]]:
        self.requests.append(("generations", start, end))
        found = [o for o in self.observations if start <= parse_time(o["startTime"], "startTime") < end]
        found.sort(key=lambda o: (parse_time(o["startTime"], "startTime"), o["id"]), reverse=True)
        for page_number, index in enumerate(range(0, len(found), self.page_size)):
            if self.fail_after_pages is not None and page_number >= self.fail_after_pages:
                raise LangfuseError("fake outage")
            yield copy.deepcopy(found[index:index + self.page_size])

    async def scores(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        self.requests.append(("scores", start, end))
        return [copy.deepcopy(s) for s in self.score_records
                if start <= parse_time(s["timestamp"], "timestamp") < end]


@dataclass
class FakeIngesterState:
    """What the fake database holds."""

    published: dict[tuple[str, str], Claim] = field(default_factory=dict)
    sent: set[tuple[str, str, str]] = field(default_factory=set)
    watermarks: dict[str, datetime] = field(default_factory=dict)
    backfills: dict[str, Backfill] = field(default_factory=dict)
    imports: dict[str, ImportRun] = field(default_factory=dict)


class FakeIngesterStore(AbstractIngesterStore):
    """The store over a :class:`FakeIngesterState`."""

    def __init__(self, state: FakeIngesterState | None = None) -> None:
        self.state = state or FakeIngesterState()

    async def published_ids(self, project_id: str, observation_ids: Sequence[str]) -> set[str]:
        return {o for o in observation_ids if (project_id, o) in self.state.published}

    async def claim(self, project_id: str, claims: Sequence[Claim]) -> set[str]:
        fresh = set()
        for c in claims:
            if (project_id, c.observation_id) not in self.state.published:
                self.state.published[(project_id, c.observation_id)] = c
                fresh.add(c.observation_id)
        return fresh

    async def mark_dead_lettered(self, project_id: str, observation_ids: Sequence[str]) -> None:
        for key in ((project_id, o) for o in observation_ids):
            if key in self.state.published:
                self.state.published[key] = replace(self.state.published[key], outcome=Outcome.DEAD_LETTERED)

    async def targets(self, project_id: str, observation_ids: Sequence[str]) -> dict[str, Target]:
        found = {o: self.state.published.get((project_id, o)) for o in observation_ids}
        return {o: Target(c.trace_id, c.session_id) for o, c in found.items()
                if c is not None and c.outcome is Outcome.PUBLISHED}

    async def sent_scores(self, project_id: str, observation_ids: Sequence[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for project, observation, score in self.state.sent:
            if project == project_id and observation in observation_ids:
                out.setdefault(observation, set()).add(score)
        return out

    async def claim_scores(self, project_id: str, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        fresh = {p for p in pairs if (project_id, *p) not in self.state.sent}
        self.state.sent.update((project_id, *p) for p in fresh)
        return fresh

    async def watermark(self, project_id: str) -> datetime | None:
        return self.state.watermarks.get(project_id)

    async def advance_watermark(self, project_id: str, position: datetime) -> None:
        current = self.state.watermarks.get(project_id)
        self.state.watermarks[project_id] = max(position, current) if current else position

    async def forget(self, project_id: str, started_before: datetime) -> int:
        old = {key for key, claim in self.state.published.items()
               if key[0] == project_id and claim.start_time is not None and claim.start_time < started_before}
        for key in old:
            del self.state.published[key]
        self.state.sent = {s for s in self.state.sent if (s[0], s[1]) not in old}
        return len(old)

    async def add_backfills(self, requests: Sequence[Backfill]) -> None:
        for b in requests:
            self.state.backfills.setdefault(b.backfill_id, copy.deepcopy(b))

    async def next_backfill(self, project_id: str) -> Backfill | None:
        pending = [b for b in self.state.backfills.values() if b.project_id == project_id and not b.done]
        pending.sort(key=lambda b: (b.requested_at, b.backfill_id))
        return copy.deepcopy(pending[0]) if pending else None

    async def save_backfill(self, backfill: Backfill) -> None:
        self.state.backfills[backfill.backfill_id] = copy.deepcopy(backfill)

    async def save_import(self, run: ImportRun) -> None:
        self.state.imports[run.run_id] = copy.deepcopy(run)

    async def progress(self) -> list[ProjectProgress]:
        return [ProjectProgress(p, w, w) for p, w in sorted(self.state.watermarks.items())]

    async def recent_backfills(self, limit: int = 20) -> list[Backfill]:
        return sorted(self.state.backfills.values(), key=lambda b: b.requested_at, reverse=True)[:limit]

    async def recent_imports(self, limit: int = 20) -> list[ImportRun]:
        return sorted(self.state.imports.values(), key=lambda r: r.started_at, reverse=True)[:limit]


class SimulatedCrash(RuntimeError):
    """The process 'died' before this commit."""


class EmitRefused(ValueError):
    """An event the unit of work would not take (too large for the topic, say)."""


class FakeIngesterUnitOfWork(FakeUnitOfWork):
    """Works on a copy of the database's state; ``commit`` swaps it in and records the events."""

    def __init__(self, database: FakeIngesterDatabase) -> None:
        super().__init__()
        self._database = database
        self.state = FakeIngesterState()
        self._events: list[tuple[str, Event, str | None]] = []

    async def __aenter__(self) -> FakeIngesterUnitOfWork:
        await super().__aenter__()
        self.state = copy.deepcopy(self._database.state)
        self._events = []
        return self

    def emit(self, topic: str, event: Event, *, cause: Envelope | None = None,
             correlation_id: str | None = None, key: str | None = None, body: bytes | None = None) -> Envelope:
        refuse = self._database.refuse_emit
        if refuse is not None and refuse(event):
            raise EmitRefused(f"the fake refused a {type(event).__name__}")
        envelope = super().emit(topic, event, cause=cause, correlation_id=correlation_id, key=key, body=body)
        stored = self._outgoing[-1]  # the event as the stream will carry it (cut to fit, say)
        self._events.append((topic, type(event).model_validate_json(stored.payload), stored.key))
        return envelope

    async def commit(self) -> None:
        self._database.commits += 1
        if self._database.crash_at_commit is not None and self._database.commits >= self._database.crash_at_commit:
            self._database.crash_at_commit = None
            raise SimulatedCrash(f"crashed before commit {self._database.commits}")
        await super().commit()
        self._database.state = self.state
        self._database.events.extend(self._events)
        self._events = []


@dataclass
class FakeIngesterDatabase:
    """The fake database plus the stream: committed state and every committed event.

    ``new_uow`` and ``store`` are what app.py passes in production (``ctx.new_uow`` and
    ``sql_store``); ``crash_at_commit`` makes the Nth commit fail, as a dying process would;
    ``refuse_emit`` makes ``emit`` raise for the events it picks, as for an event too large.
    """

    state: FakeIngesterState = field(default_factory=FakeIngesterState)
    events: list[tuple[str, Event, str | None]] = field(default_factory=list)
    commits: int = 0
    crash_at_commit: int | None = None
    refuse_emit: Callable[[Event], bool] | None = None

    def new_uow(self) -> FakeIngesterUnitOfWork:
        return FakeIngesterUnitOfWork(self)

    def store(self, uow: UnitOfWork) -> FakeIngesterStore:
        """The store of one of this database's units of work."""
        if not isinstance(uow, FakeIngesterUnitOfWork) or uow._database is not self:
            raise TypeError("FakeIngesterDatabase.store needs a unit of work from its own new_uow()")
        return FakeIngesterStore(uow.state)

    def on(self, topic: str) -> list[Event]:
        return [event for t, event, _ in self.events if t == topic]


class FakeErasureStore(AbstractErasureStore):
    """Forgets the caller's session in a FakeIngesterState."""

    def __init__(self, state: FakeIngesterState) -> None:
        self.state = state

    async def erase(self, caller: Caller) -> list[StoreErasure]:
        hit = [key for key, claim in self.state.published.items()
               if claim.session_id is not None and caller.matches(claim.session_id, claim.trace_id)]
        for key in hit:
            self.state.published[key] = replace(self.state.published[key], session_id=None)
        return erasures(len(hit))

"""One Langfuse project's observations and scores, in memory, indexed by time.

Pages are cut with keyset cursors (start time, id), newest first, so a walk through the
pages sees every item that existed when it started exactly once even while new items
arrive. Items become visible `lag_seconds` after ingestion, as Langfuse's non-OTel
endpoints lag its ingestion.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sortedcontainers import SortedKeyList

from distillery_sandbox.langfuse.records import (
    TRACE_CONTEXT_KEYS,
    new_score,
    records_from_calls,
    with_metrics,
)
from distillery_sandbox.workload.records import SimulatedCall

Key = tuple[datetime, str]
Predicate = Callable[[dict[str, Any]], bool]


_TIME_FIELDS = ("startTime", "endTime", "completionStartTime", "timestamp")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _millis(record: dict[str, Any]) -> dict[str, Any]:
    """Keep millisecond precision, as Langfuse does, so a timestamp read back from the
    API compares equal to the stored one."""
    for name in _TIME_FIELDS:
        moment = record.get(name)
        if isinstance(moment, datetime):
            record[name] = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    return record


@dataclass
class _Entry:
    key: Key
    visible_at: datetime
    record: dict[str, Any]


@dataclass(frozen=True)
class PageRequest:
    """A page of items newest first: at most `limit`, strictly older than `after` (a
    cursor's key), with `lower <= time < upper`, and matching `predicate`."""

    limit: int
    after: Key | None = None
    lower: datetime | None = None
    upper: datetime | None = None
    predicate: Predicate | None = None


@dataclass(frozen=True)
class Page:
    """The records of a page and the key to continue after (None on the last page)."""

    records: list[dict[str, Any]]
    next_key: Key | None


class _TimeIndex:
    """Records by id plus a sorted (time, id) index; upserts replace the older version."""

    def __init__(self, time_field: str):
        self._time_field = time_field
        self._by_id: dict[str, _Entry] = {}
        self._sorted = SortedKeyList(key=lambda entry: entry.key)

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, item_id: str) -> dict[str, Any] | None:
        entry = self._by_id.get(item_id)
        return entry.record if entry else None

    def put(self, record: dict[str, Any], now: datetime, lag: timedelta) -> None:
        """Store `record` stamped as Langfuse does (createdAt kept from an older version,
        updatedAt `now`), visible from `now + lag` or when the older version already was."""
        old = self._by_id.get(record["id"])
        record["createdAt"] = old.record["createdAt"] if old else now
        record["updatedAt"] = now
        visible_at = now + lag
        if old is not None:
            self._sorted.remove(old)
            visible_at = min(visible_at, old.visible_at)
        entry = _Entry((record[self._time_field], record["id"]), visible_at, record)
        self._by_id[record["id"]] = entry
        self._sorted.add(entry)

    def records(self) -> Iterable[dict[str, Any]]:
        return (entry.record for entry in self._by_id.values())

    def page(self, request: PageRequest, now: datetime) -> Page:
        upper = (request.upper, "") if request.upper is not None else None
        if request.after is not None and (upper is None or request.after < upper):
            upper = request.after
        lower = (request.lower, "") if request.lower is not None else None
        found: list[_Entry] = []
        for entry in self._sorted.irange_key(lower, upper, inclusive=(True, False), reverse=True):
            if entry.visible_at > now:
                continue
            if request.predicate is not None and not request.predicate(entry.record):
                continue
            found.append(entry)
            if len(found) > request.limit:
                break
        more = len(found) > request.limit
        found = found[: request.limit]
        return Page([e.record for e in found], found[-1].key if more and found else None)


class LangfuseStore:
    """An in-memory Langfuse project: observations, scores and per-trace context.

    Thread-safe: the HTTP app and a test or feeder thread may use it at the same time.
    """

    def __init__(self, project_id: str = "distillery-sandbox", *, lag_seconds: float = 0.0,
                 clock: Callable[[], datetime] = utc_now):
        if lag_seconds < 0:
            raise ValueError(f"lag_seconds must not be negative, got {lag_seconds}")
        self.project_id = project_id
        self.lag = timedelta(seconds=lag_seconds)
        self._clock = clock
        self._lock = threading.RLock()
        self._observations = _TimeIndex("startTime")
        self._scores = _TimeIndex("timestamp")
        self._traces: dict[str, dict[str, Any]] = defaultdict(dict)
        self._trace_members: dict[str, set[str]] = defaultdict(set)

    def now(self) -> datetime:
        return self._clock()

    def add_calls(self, calls: Iterable[SimulatedCall]) -> tuple[int, int]:
        """Ingest simulated calls now; returns (observations, scores) added."""
        observations, scores = records_from_calls(calls, self.project_id)
        with self._lock:
            for record in observations:
                self.put_observation(record)
            for score in scores:
                self.put_score(score)
        return len(observations), len(scores)

    def put_observation(self, record: dict[str, Any]) -> None:
        """Insert or replace an observation (same id: the newer version wins)."""
        record = with_metrics(_millis(record))
        with self._lock:
            self._observations.put(record, self._clock(), self.lag)
            if record.get("traceId"):
                self._join_trace(record)

    def add_score(self, name: str, value: float | str, *, trace_id: str | None = None,
                  observation_id: str | None = None, session_id: str | None = None,
                  data_type: str = "NUMERIC", source: str = "API", comment: str | None = None,
                  timestamp: datetime | None = None, environment: str = "default",
                  score_id: str | None = None, metadata: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
        """Attach a score as if an evaluator had sent it; returns the stored score."""
        if not (trace_id or session_id):
            raise ValueError("a score needs trace_id (optionally with observation_id) or session_id")
        if data_type in ("NUMERIC", "BOOLEAN") and isinstance(value, str):
            raise ValueError(f"a {data_type} score needs a numeric value, got {value!r}")
        score = new_score(
            self.project_id, score_id=score_id or str(uuid.uuid4()), name=name,
            value=float(value) if data_type in ("NUMERIC", "BOOLEAN") else value,
            data_type=data_type, source=source, timestamp=timestamp or self._clock(),
            environment=environment, comment=comment, trace_id=trace_id,
            observation_id=observation_id, session_id=session_id, metadata=metadata,
        )
        self.put_score(score)
        return score

    def put_score(self, score: dict[str, Any]) -> None:
        score = _millis(score)
        with self._lock:
            self._scores.put(score, self._clock(), self.lag)

    def observation(self, observation_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._observations.get(observation_id)

    def observations_page(self, request: PageRequest) -> Page:
        with self._lock:
            return self._observations.page(request, self._clock())

    def scores_page(self, request: PageRequest) -> Page:
        with self._lock:
            return self._scores.page(request, self._clock())

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"observations": len(self._observations), "scores": len(self._scores),
                    "traces": len(self._trace_members)}

    def _join_trace(self, record: dict[str, Any]) -> None:
        """Share trace-level fields (name, tags, user, session, release) across a trace."""
        trace_id = record["traceId"]
        context = self._traces[trace_id]
        for key in TRACE_CONTEXT_KEYS:
            if record.get(key):
                context[key] = record[key]
        self._trace_members[trace_id].add(record["id"])
        for member_id in self._trace_members[trace_id]:
            member = self._observations.get(member_id)
            for key, value in context.items():
                if not member.get(key):
                    member[key] = value

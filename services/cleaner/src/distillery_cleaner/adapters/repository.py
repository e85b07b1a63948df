"""The cleaner's store: its dedup index per scope and the late scores it has seen.

``AbstractCleanerRepository`` is what the cleaning use cases need; ``SqlCleanerRepository``
keeps it in PostgreSQL, inside the handler's unit of work, so the index and the verdicts'
outbox rows commit together. ``MemoryCleanerRepository`` (``memory.py``) keeps it in dicts
for the offline ``distillery clean``; ``FakeCleanerRepository`` (``fakes.py``) is that
store recording its calls, for tests. Every method works on a whole batch: one round trip.

Each SQL method is one statement whatever the batch size: lookups take arrays (``= any(...)``
on B-tree keys) and inserts unnest arrays, so a batch of 1,000 generations costs the same
handful of round trips as a batch of one.

A scope is one (cleaner version, configuration hash): the index of one scope never
answers for another, so a replay under a new version builds its own, complete index.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Text, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from distillery_contracts.common import Score
from distillery_contracts.examples import Lineage
from distillery_cleaner.adapters.tables import config_versions, example_bands, examples, late_scores
from distillery_cleaner.domain.dedup import IndexedExample
from distillery_runtime.lru import Lru
from distillery_cleaner.domain.screen import Candidate

ObservationKey = tuple[str, str]
"""(project id, observation id): observation ids are unique within a Langfuse project."""


@dataclass(frozen=True)
class Retracted:
    """An accepted example taken back because a late score flagged its generation."""

    example_id: str
    lineage: Lineage


class AbstractCleanerRepository(abc.ABC):
    """Batch operations on the dedup index and the late-score table."""

    @abc.abstractmethod
    async def register_scope(self, scope: int, version: str, config_hash: str, config_json: str) -> None:
        """Record that the cleaner runs under this (version, configuration); idempotent."""

    @abc.abstractmethod
    async def late_scores_for(self, keys: Sequence[ObservationKey]) -> dict[ObservationKey, list[Score]]:
        """Late scores already stored for these observations."""

    @abc.abstractmethod
    async def add_late_scores(self, scores: Mapping[ObservationKey, Sequence[Score]]) -> None:
        """Store late scores, merging with what is stored (a score id is kept once)."""

    @abc.abstractmethod
    async def forget_late_scores(self, changed_before: datetime, limit: int) -> int:
        """Delete at most ``limit`` observations' late scores last changed before ``changed_before``,
        oldest first; returns how many."""

    @abc.abstractmethod
    async def forget_indexed_examples(self, accepted_before: datetime, limit: int) -> int:
        """Take at most ``limit`` examples accepted before ``accepted_before`` out of the
        near-duplicate index of every scope (their rows and band keys), oldest first; returns how
        many."""

    @abc.abstractmethod
    async def find_exact(self, scope: int, hashes: Sequence[str]) -> dict[str, str]:
        """Content hash → example id, for the hashes already indexed in ``scope``."""

    @abc.abstractmethod
    async def find_near(self, scope: int, band_keys: Sequence[int]) -> list[IndexedExample]:
        """Indexed examples of ``scope`` that share at least one of ``band_keys``, each with
        those of its band keys that are among ``band_keys`` (in ascending order)."""

    @abc.abstractmethod
    async def add_examples(self, scope: int, kept: Sequence[Candidate]) -> set[str]:
        """Index the kept candidates; return the content hashes inserted (a hash missing
        from the answer was indexed meanwhile by another instance)."""

    @abc.abstractmethod
    async def retract(self, scope: int, keys: Sequence[ObservationKey]) -> list[Retracted]:
        """Take the accepted examples of these observations out of the near-duplicate index
        and mark them retracted; return those that were accepted and not yet retracted."""


_TEXTS = ARRAY(Text)
_KEYS = ARRAY(BigInteger)

_LATE_SCORES = select(late_scores.c.project_id, late_scores.c.observation_id, late_scores.c.scores).where(
    late_scores.c.observation_id == any_(bindparam("observations", type_=_TEXTS)))

_FIND_EXACT = select(examples.c.content_hash, examples.c.example_id).where(
    examples.c.scope_id == bindparam("scope"),
    examples.c.content_hash == any_(bindparam("hashes", type_=_TEXTS)))

# One row per indexed example, its matching keys gathered by the server: a near duplicate shares
# several bands with a candidate, and a row per band cost the cleaner twice the CPU to read and
# group (on a replay's index, 23 -> 11 ms a batch of 400 examples).
_NEAR_BANDS = text("""
    select rank, array_agg(band_key order by band_key) from example_bands
    where scope_id = :scope and band_key = any(:keys)
    group by rank
""").bindparams(bindparam("keys", type_=_KEYS))

_NEAR_ROWS = select(examples.c.rank, examples.c.example_id, examples.c.session_key, examples.c.signature).where(
    examples.c.rank == any_(bindparam("ranks", type_=_KEYS)), examples.c.signature.is_not(None))

_ADD_LATE_SCORES = text("""
    insert into late_scores (project_id, observation_id, scores)
    select p, o, cast(s as jsonb)
    from unnest(cast(:projects as text[]), cast(:observations as text[]), cast(:scores as text[])) as u(p, o, s)
    on conflict (project_id, observation_id) do update
    set scores = late_scores.scores || excluded.scores, updated_at = now()
""")

# Oldest first along late_scores_updated_at_idx; rows another instance is deleting are skipped.
_FORGET_INDEXED_EXAMPLES = text("""
    with old as (
        select scope_id, content_hash, rank, band_keys from examples
        where accepted_at < :before
        order by accepted_at
        limit :limit
        for update skip locked
    ), bands as (
        delete from example_bands b using old
        where b.scope_id = old.scope_id and b.band_key = any(old.band_keys) and b.rank = old.rank
        returning 1
    ), gone as (
        delete from examples e using old
        where e.scope_id = old.scope_id and e.content_hash = old.content_hash
        returning 1
    )
    select count(*) from gone
""")

_FORGET_LATE_SCORES = text("""
    with gone as (
        delete from late_scores where (project_id, observation_id) in (
            select project_id, observation_id from late_scores
            where updated_at < :before
            order by updated_at
            limit :limit
            for update skip locked)
        returning 1
    )
    select count(*) from gone
""")

_ADD_EXAMPLES = text("""
    with added as (
        insert into examples (scope_id, content_hash, example_id, project_id, observation_id, trace_id,
                              session_id, session_key, captured_at, model, signature, band_keys)
        select :scope, h, e, p, o, t, s, k, c, m, g, cast(b as bigint[])
        from unnest(cast(:hashes as text[]), cast(:example_ids as text[]), cast(:projects as text[]),
                    cast(:observations as text[]), cast(:traces as text[]), cast(:sessions as text[]),
                    cast(:session_keys as text[]), cast(:captured as timestamptz[]), cast(:models as text[]),
                    cast(:signatures as bytea[]), cast(:bands as text[]))
             with ordinality as u(h, e, p, o, t, s, k, c, m, g, b, n)
        order by n
        on conflict (scope_id, content_hash) do nothing
        returning content_hash, rank, band_keys
    ), banded as (
        -- In key order: consecutive keys share the B-tree's leaf pages (at 200,000 indexed examples,
        -- 78 -> 63 ms of PostgreSQL's time per 1,000 examples' bands).
        insert into example_bands (scope_id, band_key, rank)
        select :scope, band_key, rank from added, unnest(band_keys) as band_key order by band_key
    )
    select content_hash from added
""")

_RETRACT = text("""
    with flagged as (
        select e.rank, e.band_keys from examples e
        join unnest(cast(:projects as text[]), cast(:observations as text[])) as u(p, o)
          on e.scope_id = :scope and e.observation_id = u.o and e.project_id = u.p
        where e.retracted_at is null
        for update of e
    ), unbanded as (
        delete from example_bands b using (select rank, unnest(band_keys) as band_key from flagged) f
        where b.scope_id = :scope and b.band_key = f.band_key and b.rank = f.rank
    )
    update examples e set retracted_at = now(), band_keys = '{}', signature = null
    from flagged where e.rank = flagged.rank
    returning e.example_id, e.project_id, e.observation_id, e.trace_id, e.session_id, e.captured_at, e.model
""")


class IndexedRows(Lru[int, tuple[str, str, bytes]]):
    """What this process has read of indexed examples, by rank: example id, call and signature.

    The near-duplicate lookup of every batch finds the examples sharing a band with it, and
    on templated calls the same ones come back batch after batch, more of them as the index
    grows (some 9 a generation at 200,000 indexed). A rank names one indexed example for good
    (ranks are never reused, and these columns never change while the example has bands), so
    only the ranks come from the band lookup and only unseen ones are read in full. An example
    taken out of the index (retracted, erased, past retention) loses its bands: its entry is
    never read again and leaves with the least recently used ones (``size`` are kept,
    about 1 KB each).
    """

    def __init__(self, size: int = 50_000) -> None:
        super().__init__(size)


class SqlCleanerRepository(AbstractCleanerRepository):
    """The store on the unit of work's session: effects commit with the batch's events.
    ``indexed`` is the process's :class:`IndexedRows` (a fresh one when not given)."""

    def __init__(self, session: AsyncSession, indexed: IndexedRows | None = None) -> None:
        self.session = session
        self.indexed = indexed if indexed is not None else IndexedRows()

    async def register_scope(self, scope: int, version: str, config_hash: str, config_json: str) -> None:
        stmt = pg_insert(config_versions).values(
            scope_id=scope, cleaner_version=version, config_hash=config_hash, config=json.loads(config_json))
        await self.session.execute(stmt.on_conflict_do_nothing(index_elements=["scope_id"]))

    async def late_scores_for(self, keys: Sequence[ObservationKey]) -> dict[ObservationKey, list[Score]]:
        wanted = set(keys)
        rows = await self.session.execute(_LATE_SCORES, {"observations": sorted({o for _, o in wanted})})
        found = {}
        for project_id, observation_id, scores in rows:
            if (project_id, observation_id) in wanted:
                by_id = {s["score_id"]: s for s in scores}  # merged rows may repeat a score
                found[(project_id, observation_id)] = [Score.model_validate(s) for s in by_id.values()]
        return found

    async def add_late_scores(self, scores: Mapping[ObservationKey, Sequence[Score]]) -> None:
        keys = list(scores)
        payloads = [json.dumps([s.model_dump(mode="json") for s in scores[key]]) for key in keys]
        await self.session.execute(_ADD_LATE_SCORES, {"projects": [p for p, _ in keys],
                                                      "observations": [o for _, o in keys],
                                                      "scores": payloads})

    async def forget_late_scores(self, changed_before: datetime, limit: int) -> int:
        result = await self.session.execute(_FORGET_LATE_SCORES, {"before": changed_before, "limit": limit})
        return int(result.scalar_one())

    async def forget_indexed_examples(self, accepted_before: datetime, limit: int) -> int:
        result = await self.session.execute(_FORGET_INDEXED_EXAMPLES, {"before": accepted_before, "limit": limit})
        return int(result.scalar_one())

    async def find_exact(self, scope: int, hashes: Sequence[str]) -> dict[str, str]:
        rows = await self.session.execute(_FIND_EXACT, {"scope": scope, "hashes": list(hashes)})
        return {content_hash: example_id for content_hash, example_id in rows}

    async def find_near(self, scope: int, band_keys: Sequence[int]) -> list[IndexedExample]:
        matched: dict[int, list[int]] = dict(
            (await self.session.execute(_NEAR_BANDS, {"scope": scope, "keys": list(band_keys)})).tuples().all())
        rows = {rank: self.indexed.get(rank) for rank in matched}
        unseen = [rank for rank, row in rows.items() if row is None]
        if unseen:
            for rank, example_id, session_key, signature in await self.session.execute(_NEAR_ROWS, {"ranks": unseen}):
                row = rows[rank] = (example_id, session_key, bytes(signature))
                self.indexed.put(rank, row)
        return [IndexedExample(row[0], row[1], row[2], tuple(matched[rank]), rank)
                for rank, row in rows.items() if row is not None]

    async def add_examples(self, scope: int, kept: Sequence[Candidate]) -> set[str]:
        if not kept:
            return set()
        traces = [c.trace for c in kept]
        params = {
            "scope": scope,
            "hashes": [c.content_hash for c in kept],
            "example_ids": [c.example_id for c in kept],
            "projects": [t.project_id for t in traces],
            "observations": [t.observation_id for t in traces],
            "traces": [t.trace_id for t in traces],
            "sessions": [t.session_id for t in traces],
            "session_keys": [c.session_key for c in kept],
            "captured": [t.start_time for t in traces],
            "models": [t.model for t in traces],
            "signatures": [c.signature for c in kept],
            "bands": ["{" + ",".join(map(str, c.band_keys)) + "}" for c in kept],
        }
        rows = await self.session.execute(_ADD_EXAMPLES, params)
        return {content_hash for (content_hash,) in rows}

    async def retract(self, scope: int, keys: Sequence[ObservationKey]) -> list[Retracted]:
        unique = sorted(set(keys))
        rows = await self.session.execute(_RETRACT, {"scope": scope, "projects": [p for p, _ in unique],
                                                     "observations": [o for _, o in unique]})
        retracted = []
        for example_id, project_id, observation_id, trace_id, session_id, captured_at, model in rows:
            lineage = Lineage(project_id=project_id, observation_id=observation_id, trace_id=trace_id,
                              session_id=session_id, captured_at=captured_at, model=model)
            retracted.append(Retracted(example_id, lineage))
        return retracted

"""The cleaner's store: its dedup index per scope and the late scores it has seen.

``AbstractCleanerRepository`` is what the cleaning service needs; ``SqlCleanerRepository``
(in ``sql.py``) keeps it in PostgreSQL for the service, ``InMemoryCleanerRepository``
keeps it in dicts for the offline ``distillery clean`` command and for unit tests, which
can read its state. Every method works on a whole batch: one round trip each.

A scope is one (cleaner version, configuration hash): the index of one scope never
answers for another, so a replay under a new version builds its own, complete index.
"""

from __future__ import annotations

import abc
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from distillery_contracts.common import Score
from distillery_contracts.examples import Lineage
from distillery_cleaner.domain.dedup import IndexedExample
from distillery_cleaner.domain.events import lineage_of
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
    async def find_exact(self, scope: int, hashes: Sequence[str]) -> dict[str, str]:
        """Content hash → example id, for the hashes already indexed in ``scope``."""

    @abc.abstractmethod
    async def find_near(self, scope: int, band_keys: Sequence[int]) -> list[IndexedExample]:
        """Indexed examples of ``scope`` that share at least one of ``band_keys``."""

    @abc.abstractmethod
    async def add_examples(self, scope: int, kept: Sequence[Candidate]) -> set[str]:
        """Index the kept candidates; return the content hashes inserted (a hash missing
        from the answer was indexed meanwhile by another instance)."""

    @abc.abstractmethod
    async def retract(self, scope: int, keys: Sequence[ObservationKey]) -> list[Retracted]:
        """Take the accepted examples of these observations out of the near-duplicate index
        and mark them retracted; return those that were accepted and not yet retracted."""


@dataclass
class IndexRow:
    """One indexed example as the in-memory store keeps it."""

    example_id: str
    content_hash: str
    session_key: str
    signature: bytes | None
    band_keys: tuple[int, ...]
    rank: int
    lineage: Lineage
    retracted_at: datetime | None = None


@dataclass
class InMemoryCleanerRepository(AbstractCleanerRepository):
    """The store in dicts: for one process's lifetime (offline runs, unit tests)."""

    scopes: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    rows: dict[int, dict[str, IndexRow]] = field(default_factory=dict)
    bands: dict[int, dict[int, list[IndexRow]]] = field(default_factory=dict)
    by_observation: dict[int, dict[ObservationKey, IndexRow]] = field(default_factory=dict)
    scores: dict[ObservationKey, dict[str, Score]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    _ranks: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def register_scope(self, scope: int, version: str, config_hash: str, config_json: str) -> None:
        self.calls.append("register_scope")
        self.scopes.setdefault(scope, (version, config_hash, config_json))

    async def late_scores_for(self, keys: Sequence[ObservationKey]) -> dict[ObservationKey, list[Score]]:
        self.calls.append("late_scores_for")
        return {key: list(self.scores[key].values()) for key in keys if key in self.scores}

    async def add_late_scores(self, scores: Mapping[ObservationKey, Sequence[Score]]) -> None:
        self.calls.append("add_late_scores")
        for key, new in scores.items():
            stored = self.scores.setdefault(key, {})
            stored.update((s.score_id, s) for s in new)

    async def find_exact(self, scope: int, hashes: Sequence[str]) -> dict[str, str]:
        self.calls.append("find_exact")
        index = self.rows.get(scope, {})
        return {h: index[h].example_id for h in hashes if h in index}

    async def find_near(self, scope: int, band_keys: Sequence[int]) -> list[IndexedExample]:
        self.calls.append("find_near")
        bands = self.bands.get(scope, {})
        found = {id(row): row for key in set(band_keys) for row in bands.get(key, ())}
        return [
            IndexedExample(row.example_id, row.session_key, row.signature, row.band_keys, row.rank)
            for row in found.values()
            if row.signature is not None
        ]

    async def add_examples(self, scope: int, kept: Sequence[Candidate]) -> set[str]:
        self.calls.append("add_examples")
        index = self.rows.setdefault(scope, {})
        bands = self.bands.setdefault(scope, {})
        inserted = set()
        for candidate in kept:
            if candidate.content_hash in index:
                continue
            row = IndexRow(candidate.example_id, candidate.content_hash, candidate.session_key,
                           candidate.signature, tuple(candidate.band_keys), next(self._ranks),
                           lineage_of(candidate.trace))
            index[candidate.content_hash] = row
            self.by_observation.setdefault(scope, {})[(row.lineage.project_id, row.lineage.observation_id)] = row
            for key in row.band_keys:
                bands.setdefault(key, []).append(row)
            inserted.add(candidate.content_hash)
        return inserted

    async def retract(self, scope: int, keys: Sequence[ObservationKey]) -> list[Retracted]:
        self.calls.append("retract")
        accepted = self.by_observation.get(scope, {})
        retracted = []
        for key in dict.fromkeys(keys):
            row = accepted.get(key)
            if row is not None and row.retracted_at is None:
                bands = self.bands.get(scope, {})
                for band_key in row.band_keys:
                    bands[band_key].remove(row)
                row.retracted_at, row.band_keys, row.signature = datetime.now(UTC), (), None
                retracted.append(Retracted(row.example_id, row.lineage))
        return retracted

"""The cleaner's store in dicts, for the offline ``distillery clean``.

Not a test double: ``distillery clean`` cleans an export in one process with the service's
own logic, and this is the store it runs on in production (no database to provision for
an offline run; the index lives as long as the run). So it is named for what it is, kept
beside the SQL store, and held to the same contract suite as the SQL store and the fake
(``services/cleaner/tests/test_cleaner_repository_contract.py``).
``FakeCleanerRepository`` (``fakes.py``) is this store recording its calls.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from distillery_contracts.common import Score
from distillery_contracts.examples import Lineage
from distillery_cleaner.adapters.repository import AbstractCleanerRepository, ObservationKey, Retracted
from distillery_cleaner.domain.dedup import IndexedExample
from distillery_cleaner.domain.events import lineage_of
from distillery_cleaner.domain.screen import Candidate


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
    accepted_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class MemoryCleanerRepository(AbstractCleanerRepository):
    """The store in dicts, for one process's lifetime; its state can be read directly."""

    scopes: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    rows: dict[int, dict[str, IndexRow]] = field(default_factory=dict)
    bands: dict[int, dict[int, list[IndexRow]]] = field(default_factory=dict)
    by_observation: dict[int, dict[ObservationKey, IndexRow]] = field(default_factory=dict)
    scores: dict[ObservationKey, dict[str, Score]] = field(default_factory=dict)
    scores_changed: dict[ObservationKey, datetime] = field(default_factory=dict)
    _ranks: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    async def register_scope(self, scope: int, version: str, config_hash: str, config_json: str) -> None:
        self.scopes.setdefault(scope, (version, config_hash, config_json))

    async def late_scores_for(self, keys: Sequence[ObservationKey]) -> dict[ObservationKey, list[Score]]:
        return {key: list(self.scores[key].values()) for key in keys if key in self.scores}

    async def add_late_scores(self, scores: Mapping[ObservationKey, Sequence[Score]]) -> None:
        for key, new in scores.items():
            stored = self.scores.setdefault(key, {})
            stored.update((s.score_id, s) for s in new)
            self.scores_changed[key] = datetime.now(UTC)

    async def forget_late_scores(self, changed_before: datetime, limit: int) -> int:
        old = sorted((at, key) for key, at in self.scores_changed.items() if at < changed_before)[:limit]
        for _, key in old:
            del self.scores[key], self.scores_changed[key]
        return len(old)

    async def forget_indexed_examples(self, accepted_before: datetime, limit: int) -> int:
        old = sorted(((row.accepted_at, row.rank), scope, row) for scope, index in self.rows.items()
                     for row in index.values() if row.accepted_at < accepted_before)[:limit]
        for _, scope, row in old:
            del self.rows[scope][row.content_hash]
            del self.by_observation[scope][(row.lineage.project_id, row.lineage.observation_id)]
            for band_key in row.band_keys:
                self.bands[scope][band_key].remove(row)
        return len(old)

    async def find_exact(self, scope: int, hashes: Sequence[str]) -> dict[str, str]:
        index = self.rows.get(scope, {})
        return {h: index[h].example_id for h in hashes if h in index}

    async def find_near(self, scope: int, band_keys: Sequence[int]) -> list[IndexedExample]:
        bands = self.bands.get(scope, {})
        asked = set(band_keys)
        found = {id(row): row for key in asked for row in bands.get(key, ())}
        return [
            IndexedExample(row.example_id, row.session_key, row.signature,
                           tuple(sorted(asked.intersection(row.band_keys))), row.rank)
            for row in found.values()
            if row.signature is not None
        ]

    async def add_examples(self, scope: int, kept: Sequence[Candidate]) -> set[str]:
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

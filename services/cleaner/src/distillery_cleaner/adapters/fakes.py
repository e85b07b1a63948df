"""Test doubles of the cleaner's stores, recording what happened so tests can assert on it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from distillery_contracts.common import Score
from distillery_contracts.privacy import StoreErasure
from distillery_cleaner.adapters.memory import MemoryCleanerRepository
from distillery_cleaner.adapters.repository import ObservationKey, Retracted
from distillery_cleaner.domain.dedup import IndexedExample
from distillery_cleaner.domain.screen import Candidate
from distillery_cleaner.adapters.erasure_store import erasures
from distillery_runtime.erasure import AbstractErasureStore, Caller


@dataclass
class FakeCleanerRepository(MemoryCleanerRepository):
    """The in-memory store that also lists the methods called, in order (``calls``), so a
    test can check how many round trips a batch costs the SQL store."""

    calls: list[str] = field(default_factory=list)

    async def register_scope(self, scope: int, version: str, config_hash: str, config_json: str) -> None:
        self.calls.append("register_scope")
        await super().register_scope(scope, version, config_hash, config_json)

    async def late_scores_for(self, keys: Sequence[ObservationKey]) -> dict[ObservationKey, list[Score]]:
        self.calls.append("late_scores_for")
        return await super().late_scores_for(keys)

    async def add_late_scores(self, scores: Mapping[ObservationKey, Sequence[Score]]) -> None:
        self.calls.append("add_late_scores")
        await super().add_late_scores(scores)

    async def forget_late_scores(self, changed_before: datetime, limit: int) -> int:
        self.calls.append("forget_late_scores")
        return await super().forget_late_scores(changed_before, limit)

    async def forget_indexed_examples(self, accepted_before: datetime, limit: int) -> int:
        self.calls.append("forget_indexed_examples")
        return await super().forget_indexed_examples(accepted_before, limit)

    async def find_exact(self, scope: int, hashes: Sequence[str]) -> dict[str, str]:
        self.calls.append("find_exact")
        return await super().find_exact(scope, hashes)

    async def find_near(self, scope: int, band_keys: Sequence[int]) -> list[IndexedExample]:
        self.calls.append("find_near")
        return await super().find_near(scope, band_keys)

    async def add_examples(self, scope: int, kept: Sequence[Candidate]) -> set[str]:
        self.calls.append("add_examples")
        return await super().add_examples(scope, kept)

    async def retract(self, scope: int, keys: Sequence[ObservationKey]) -> list[Retracted]:
        self.calls.append("retract")
        return await super().retract(scope, keys)


class FakeErasureStore(AbstractErasureStore):
    """Erases from a MemoryCleanerRepository (or its fake)."""

    def __init__(self, repo: MemoryCleanerRepository) -> None:
        self.repo = repo

    async def erase(self, caller: Caller) -> list[StoreErasure]:
        examples = bands = scores = 0
        for scope, index in self.repo.rows.items():
            for content_hash, row in list(index.items()):
                if not caller.matches(row.lineage.session_id, row.lineage.trace_id):
                    continue
                del index[content_hash]
                examples += 1
                key = (row.lineage.project_id, row.lineage.observation_id)
                self.repo.by_observation.get(scope, {}).pop(key, None)
                for band in row.band_keys:
                    self.repo.bands[scope][band].remove(row)
                    bands += 1
                if self.repo.scores.pop(key, None) is not None:
                    self.repo.scores_changed.pop(key, None)
                    scores += 1
        return erasures(examples, bands, scores)

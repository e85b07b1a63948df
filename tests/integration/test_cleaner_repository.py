"""One contract for the cleaner's store, run against PostgreSQL and the in-memory store alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import distillery_cleaner
from distillery_cleaner.adapters.repository import AbstractCleanerRepository, InMemoryCleanerRepository
from distillery_cleaner.adapters.sql import SqlCleanerRepository
from distillery_cleaner.domain.config import CleanerConfig
from distillery_cleaner.domain.screen import Candidate, Cleaner
from distillery_contracts.common import Score
from distillery_contracts.samples import sample_trace_captured
from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.migrations import migrate

pytestmark = pytest.mark.integration
MIGRATIONS = Path(distillery_cleaner.__file__).parent / "migrations"
CLEANER = Cleaner(CleanerConfig(), "0.1.0")
SCOPE = CLEANER.scope_id


@pytest.fixture
async def sql_repo(database_url) -> AsyncIterator[SqlCleanerRepository]:
    engine = create_engine(database_url, "cleaner")
    await migrate(engine, "cleaner", MIGRATIONS)
    async with session_factory(engine)() as session:
        yield SqlCleanerRepository(session)
        await session.commit()
    await engine.dispose()


@pytest.fixture(params=["sql", "memory"])
def repo(request) -> AbstractCleanerRepository:
    return request.getfixturevalue("sql_repo") if request.param == "sql" else InMemoryCleanerRepository()


def candidate(n: int, session: str, question: str) -> Candidate:
    messages = [{"role": "system", "content": "You are the clinic's phone assistant."},
                {"role": "user", "content": question}]
    trace = sample_trace_captured(observation_id=f"obs-{n}", trace_id=f"tr-{n}", session_id=session,
                                  input_messages=messages, tools=[], start_time=datetime(2026, 3, 2, tzinfo=UTC)
                                  + timedelta(seconds=n),
                                  output={"role": "assistant", "content": "We open at 08:00 on weekdays."})
    result = CLEANER.screen(trace)
    assert isinstance(result, Candidate), result
    CLEANER.fingerprint([result])
    return result


def late_score(score_id: str, value: float) -> Score:
    return Score(score_id=score_id, name="hallucination", value=value, data_type="NUMERIC", source="EVAL",
                 timestamp=datetime(2026, 3, 2, 9, tzinfo=UTC))


async def test_registering_a_scope_twice_is_harmless(repo):
    await repo.register_scope(SCOPE, "0.1.0", CLEANER.config_hash, CLEANER.config.canonical_json())
    await repo.register_scope(SCOPE, "0.1.0", CLEANER.config_hash, CLEANER.config.canonical_json())


async def test_late_scores_merge_per_observation_and_keep_each_score_once(repo):
    key = ("clinic-prod", "obs-1")
    await repo.add_late_scores({key: [late_score("s1", 0.0)]})
    await repo.add_late_scores({key: [late_score("s1", 0.0), late_score("s2", 1.0)]})
    found = await repo.late_scores_for([key, ("clinic-prod", "obs-unknown"), ("other", "obs-1")])
    assert list(found) == [key]
    assert sorted(s.score_id for s in found[key]) == ["s1", "s2"]


async def test_indexed_examples_are_found_by_hash_and_by_band_within_their_scope(repo):
    first, second = candidate(1, "call-a", "When do you open?"), candidate(2, "call-b", "Where are you?")
    assert await repo.add_examples(SCOPE, [first, second]) == {first.content_hash, second.content_hash}
    assert await repo.find_exact(SCOPE, [first.content_hash, "f" * 64]) == {first.content_hash: first.example_id}
    near = await repo.find_near(SCOPE, first.band_keys[:3])
    assert [(e.example_id, e.session_key, e.signature) for e in near] == [
        (first.example_id, "call-a", first.signature)]
    assert near[0].band_keys == tuple(first.band_keys)
    assert await repo.find_exact(SCOPE + 1, [first.content_hash]) == {}
    assert await repo.find_near(SCOPE + 1, first.band_keys) == []


async def test_a_hash_indexed_before_is_not_inserted_again(repo):
    first = candidate(1, "call-a", "When do you open?")
    await repo.add_examples(SCOPE, [first])
    assert await repo.add_examples(SCOPE, [first]) == set()


async def test_retraction_returns_the_lineage_once_and_leaves_only_the_exact_index(repo):
    first = candidate(1, "call-a", "When do you open?")
    await repo.add_examples(SCOPE, [first])
    [retracted] = await repo.retract(SCOPE, [("clinic-prod", "obs-1"), ("clinic-prod", "obs-9")])
    assert retracted.example_id == first.example_id
    assert retracted.lineage.observation_id == "obs-1" and retracted.lineage.session_id == "call-a"
    assert await repo.retract(SCOPE, [("clinic-prod", "obs-1")]) == []
    assert await repo.find_near(SCOPE, first.band_keys) == []
    assert await repo.find_exact(SCOPE, [first.content_hash]) == {first.content_hash: first.example_id}

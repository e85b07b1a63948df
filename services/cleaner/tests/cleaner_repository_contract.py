"""One contract for the cleaner's stores: what the cleaning use cases rely on.

``CleanerRepositoryContract`` holds the tests; a subclass gives the ``repo`` fixture.
``test_cleaner_repository_contract.py`` runs it against the fake and the in-memory store
(``distillery clean`` runs on it in production), ``tests/integration/test_cleaner_repository.py``
against PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from distillery_cleaner.adapters.repository import AbstractCleanerRepository
from distillery_cleaner.domain.config import CleanerConfig
from distillery_cleaner.domain.screen import Candidate, Cleaner
from distillery_contracts.common import Score
from distillery_contracts.samples import sample_trace_captured

CLEANER = Cleaner(CleanerConfig(), "0.1.0")
SCOPE = CLEANER.scope_id


def candidate(n: int, session: str, question: str) -> Candidate:
    messages = [{"role": "system", "content": "You are the clinic's phone assistant."},
                {"role": "user", "content": question}]
    trace = sample_trace_captured(observation_id=f"obs-{n}", trace_id=f"tr-{n}", session_id=session,
                                  input_messages=messages, tools=[], start_time=datetime(2026, 3, 2, tzinfo=UTC)
                                  + timedelta(seconds=n),
                                  output={"role": "assistant", "content": "We open at 08:00 on weekdays."})
    result = CLEANER.screen(trace)
    assert isinstance(result, Candidate), result
    return result


def late_score(score_id: str, value: float) -> Score:
    return Score(score_id=score_id, name="hallucination", value=value, data_type="NUMERIC", source="EVAL",
                 timestamp=datetime(2026, 3, 2, 9, tzinfo=UTC))


class CleanerRepositoryContract:
    """The contract; subclasses provide ``repo`` (an empty store)."""

    async def test_late_scores_merge_per_observation_and_keep_each_score_once(
            self, repo: AbstractCleanerRepository) -> None:
        key = ("clinic-prod", "obs-1")
        await repo.add_late_scores({key: [late_score("s1", 0.0)]})
        await repo.add_late_scores({key: [late_score("s1", 0.0), late_score("s2", 1.0)]})
        found = await repo.late_scores_for([key, ("clinic-prod", "obs-unknown"), ("other", "obs-1")])
        assert list(found) == [key]
        assert sorted(s.score_id for s in found[key]) == ["s1", "s2"]

    async def test_late_scores_are_forgotten_once_old_a_batch_at_a_time(self, repo: AbstractCleanerRepository) -> None:
        keys = [("clinic-prod", "obs-1"), ("clinic-prod", "obs-2")]
        await repo.add_late_scores({key: [late_score(f"s-{key[1]}", 1.0)] for key in keys})
        later = datetime.now(UTC) + timedelta(seconds=1)  # after the SQL store's transaction began

        assert await repo.forget_late_scores(later - timedelta(hours=1), 10) == 0
        assert len(await repo.late_scores_for(keys)) == 2
        assert [await repo.forget_late_scores(later, 1) for _ in range(3)] == [1, 1, 0]
        assert await repo.late_scores_for(keys) == {}

    async def test_indexed_examples_are_forgotten_once_old_a_batch_at_a_time_with_their_band_keys(
            self, repo: AbstractCleanerRepository) -> None:
        first, second = candidate(1, "call-a", "When do you open?"), candidate(2, "call-b", "When do you open?")
        await repo.add_examples(SCOPE, [first])
        await repo.add_examples(SCOPE + 1, [second])
        later = datetime.now(UTC) + timedelta(seconds=1)  # after the SQL store's transaction began

        assert await repo.forget_indexed_examples(later - timedelta(hours=1), 10) == 0
        assert await repo.find_exact(SCOPE, [first.content_hash]) == {first.content_hash: first.example_id}
        assert [await repo.forget_indexed_examples(later, 1) for _ in range(3)] == [1, 1, 0]
        assert await repo.find_exact(SCOPE, [first.content_hash]) == {}
        assert await repo.find_near(SCOPE, first.band_keys) == []
        assert await repo.find_near(SCOPE + 1, second.band_keys) == []
        assert await repo.retract(SCOPE, [("clinic-prod", "obs-1")]) == []
        assert await repo.add_examples(SCOPE, [first]) == {first.content_hash}  # indexed afresh

    async def test_indexed_examples_are_found_by_hash_and_by_band_within_their_scope(
            self, repo: AbstractCleanerRepository) -> None:
        first, second = candidate(1, "call-a", "When do you open?"), candidate(2, "call-b", "Where are you?")
        assert await repo.add_examples(SCOPE, [first, second]) == {first.content_hash, second.content_hash}
        assert await repo.find_exact(SCOPE, [first.content_hash, "f" * 64]) == {
            first.content_hash: first.example_id}
        near = await repo.find_near(SCOPE, first.band_keys[:3])
        assert [(e.example_id, e.session_key, e.signature) for e in near] == [
            (first.example_id, "call-a", first.signature)]
        assert near[0].band_keys == tuple(sorted(first.band_keys[:3]))  # those of its keys asked for
        assert await repo.find_exact(SCOPE + 1, [first.content_hash]) == {}
        assert await repo.find_near(SCOPE + 1, first.band_keys) == []

    async def test_an_example_found_before_is_not_found_once_taken_out_of_the_index(
            self, repo: AbstractCleanerRepository) -> None:
        first, second = candidate(1, "call-a", "When do you open?"), candidate(2, "call-b", "Where are you?")
        await repo.add_examples(SCOPE, [first, second])
        assert [e.example_id for e in await repo.find_near(SCOPE, first.band_keys)] == [first.example_id]
        again = await repo.find_near(SCOPE, [*first.band_keys, *second.band_keys])
        assert sorted((e.example_id, e.band_keys) for e in again) == sorted([
            (first.example_id, tuple(sorted(first.band_keys))), (second.example_id, tuple(sorted(second.band_keys)))])
        await repo.retract(SCOPE, [("clinic-prod", "obs-1")])
        assert await repo.find_near(SCOPE, first.band_keys) == []
        assert [e.example_id for e in await repo.find_near(SCOPE, second.band_keys)] == [second.example_id]

    async def test_examples_are_ranked_in_the_order_they_were_indexed(self, repo: AbstractCleanerRepository) -> None:
        first, second = candidate(1, "call-a", "When do you open?"), candidate(2, "call-b", "When do you open?")
        await repo.add_examples(SCOPE, [first])
        await repo.add_examples(SCOPE + 1, [second])
        [earlier] = await repo.find_near(SCOPE, first.band_keys)
        [later] = await repo.find_near(SCOPE + 1, second.band_keys)
        assert earlier.rank < later.rank

    async def test_a_hash_indexed_before_is_not_inserted_again(self, repo: AbstractCleanerRepository) -> None:
        first = candidate(1, "call-a", "When do you open?")
        await repo.add_examples(SCOPE, [first])
        assert await repo.add_examples(SCOPE, [first]) == set()
        assert await repo.add_examples(SCOPE, []) == set()

    async def test_retraction_returns_the_lineage_once_and_leaves_only_the_exact_index(
            self, repo: AbstractCleanerRepository) -> None:
        first = candidate(1, "call-a", "When do you open?")
        await repo.add_examples(SCOPE, [first])
        [retracted] = await repo.retract(SCOPE, [("clinic-prod", "obs-1"), ("clinic-prod", "obs-9")])
        assert retracted.example_id == first.example_id
        assert retracted.lineage.observation_id == "obs-1" and retracted.lineage.session_id == "call-a"
        assert await repo.retract(SCOPE, [("clinic-prod", "obs-1")]) == []
        assert await repo.find_near(SCOPE, first.band_keys) == []
        assert await repo.find_exact(SCOPE, [first.content_hash]) == {first.content_hash: first.example_id}

    async def test_retraction_is_limited_to_its_scope(self, repo: AbstractCleanerRepository) -> None:
        first = candidate(1, "call-a", "When do you open?")
        await repo.add_examples(SCOPE, [first])
        assert await repo.retract(SCOPE + 1, [("clinic-prod", "obs-1")]) == []
        assert [e.example_id for e in await repo.find_near(SCOPE, first.band_keys)] == [first.example_id]

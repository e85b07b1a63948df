"""Scores that arrive after their generation: applied on arrival, or retract the example."""

from __future__ import annotations

from datetime import UTC, datetime

from cleaner_samples import late, score, trace

from distillery_cleaner.services import clean_batch
from distillery_contracts.examples import ExampleAccepted, ExampleRejected, RejectReason

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


async def test_a_late_score_read_before_its_generation_rejects_it_on_arrival(cleaner, repo):
    generation = trace(1)
    assert await clean_batch(cleaner, repo, [], [late(generation, score(1.0))], NOW) == []
    [verdict] = await clean_batch(cleaner, repo, [generation], [], NOW)
    assert verdict.event.reason is RejectReason.HALLUCINATION
    assert not verdict.retraction


async def test_a_late_score_in_the_same_batch_rejects_the_generation_outright(cleaner, repo):
    generation = trace(1)
    [verdict] = await clean_batch(cleaner, repo, [generation], [late(generation, score(1.0))], NOW)
    assert verdict.event.reason is RejectReason.HALLUCINATION


async def test_a_flag_after_acceptance_retracts_the_example_for_its_observation(cleaner, repo):
    generation = trace(1)
    [accepted] = await clean_batch(cleaner, repo, [generation], [], NOW)
    [retraction] = await clean_batch(cleaner, repo, [], [late(generation, score(1.0))], NOW)
    assert retraction.retraction
    event = retraction.event
    assert isinstance(event, ExampleRejected) and event.reason is RejectReason.HALLUCINATION
    assert event.lineage == accepted.event.lineage
    assert accepted.event.example_id in event.detail and event.detail.startswith("late score")


async def test_a_retraction_happens_once(cleaner, repo):
    generation = trace(1)
    await clean_batch(cleaner, repo, [generation], [], NOW)
    await clean_batch(cleaner, repo, [], [late(generation, score(1.0))], NOW)
    again = await clean_batch(cleaner, repo, [], [late(generation, score(0.9, score_id="sc-other"))], NOW)
    assert again == []


async def test_a_retracted_example_leaves_the_near_index_but_exact_copies_stay_rejected(cleaner, repo):
    generation = trace(1, session="call-a")
    await clean_batch(cleaner, repo, [generation], [], NOW)
    await clean_batch(cleaner, repo, [], [late(generation, score(1.0))], NOW)
    [copy] = await clean_batch(cleaner, repo, [trace(2, session="call-b")], [], NOW)
    assert copy.event.reason is RejectReason.DUPLICATE_EXACT
    [row] = repo.rows[cleaner.scope_id].values()
    assert row.retracted_at is not None and row.band_keys == ()


async def test_a_late_score_under_the_threshold_changes_nothing(cleaner, repo):
    generation = trace(1)
    await clean_batch(cleaner, repo, [generation], [], NOW)
    assert await clean_batch(cleaner, repo, [], [late(generation, score(0.1))], NOW) == []


async def test_an_observation_listed_twice_in_a_batch_is_judged_once(cleaner, repo):
    verdicts = await clean_batch(cleaner, repo, [trace(1), trace(1)], [], NOW)
    assert len(verdicts) == 1 and isinstance(verdicts[0].event, ExampleAccepted)

"""The contract every ``AbstractEvalRepository`` keeps, written once for all of them.

The fake runs it here (test_eval_repository_contract.py) and ``SqlEvalRepository`` runs it
against PostgreSQL (tests/integration/test_evaluator_repository.py): each subclasses
:class:`EvalRepositoryContract` and provides a ``repo`` fixture. Everything one test does
happens in one transaction, so the SQL store's ``now()`` defaults (requested_at,
enqueued_at) are equal within a test: no test relies on their order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from distillery_contracts.samples import (
    sample_dataset_built,
    sample_rollout_decided,
    sample_route_table,
    sample_trace_captured,
)
from distillery_evaluator.adapters.repository import QueuedCall
from distillery_evaluator.domain.evalset import GOLDEN, VALIDATION, EvalItem
from distillery_evaluator.domain.requests import ModelTarget, RunRequest
from distillery_evaluator.domain.results import Answer, ItemScore, Usage
from distillery_runtime.fencing import LostLease

FIRST, SECOND = "ft:gpt-4o-mini:first", "ft:gpt-4o-mini:second"
LEASE = timedelta(seconds=60)


def now() -> datetime:
    """Later than the SQL store's transaction start, which stamps rows it defaults."""
    return datetime.now(UTC) + timedelta(seconds=1)


def decided(rollout_id: str, candidate: str, decision: str, hours: int):
    base = sample_rollout_decided()
    return sample_rollout_decided(rollout_id=rollout_id, decision_id=f"{rollout_id}:{decision}",
                                  candidate_model=candidate, decision=decision,
                                  decided_at=base.decided_at + timedelta(hours=hours))


def production_route(model: str, hours: int, version: int = 1, provider: str = "openai"):
    table = sample_route_table(route="voice-agent", version=version, arms=[
        {"name": "production", "model": model, "provider": provider, "weight": 90.0},
        {"name": "teacher", "model": "gpt-4.1", "provider": "openai", "weight": 10.0}])
    return table.model_copy(update={"updated_at": sample_rollout_decided().decided_at + timedelta(hours=hours)})


def request(run_id: str = "eval-1", **fields) -> RunRequest:
    return RunRequest(run_id=run_id, trigger="finetune", candidate=ModelTarget(model=FIRST),
                      teacher=ModelTarget(model="gpt-4.1"), **fields)


def queued(observation_id: str, rollout_id: str = "ro-1") -> QueuedCall:
    trace = sample_trace_captured(observation_id=observation_id).model_dump(mode="json")
    return QueuedCall(observation_id, rollout_id, trace, {"event_id": observation_id}, 0)


class EvalRepositoryContract:
    """The tests; a subclass named ``Test…`` provides the ``repo`` fixture under test."""

    # What other services told us

    async def test_a_dataset_is_found_by_id_and_the_latest_without_one(self, repo):
        old = sample_dataset_built(dataset_id="ds-1")
        new = sample_dataset_built(dataset_id="ds-2", built_at=old.built_at + timedelta(days=1))
        await repo.remember_dataset(new)
        await repo.remember_dataset(old)
        await repo.remember_dataset(old)  # redelivered: no error, no change

        assert await repo.validation_uri("ds-1") == ("ds-1", old.files.validation.uri)
        assert await repo.validation_uri(None) == ("ds-2", new.files.validation.uri)
        assert await repo.validation_uri("ds-unknown") is None

    async def test_no_dataset_means_no_validation_split(self, repo):
        assert await repo.validation_uri(None) is None

    async def test_a_model_remembers_its_latest_deployment_and_provider(self, repo):
        await repo.remember_model(FIRST, "azure", "dep-1", "job-1", "ds-1")
        await repo.remember_model(FIRST, "selfhosted", "dep-2", "job-1", "ds-1")
        assert await repo.target_of(FIRST) == ModelTarget(model=FIRST, deployment="dep-2",
                                                          provider="selfhosted")
        assert await repo.target_of(SECOND) == ModelTarget(model=SECOND)

    async def test_teacher_only_routes_have_no_student_to_beat(self, repo):
        assert await repo.production("voice-agent") is None

    async def test_a_rollout_under_way_sets_the_bar_and_its_end_hands_it_back(self, repo):
        await repo.save_rollout(decided("ro-1", FIRST, "completed", hours=0))
        assert (await repo.production("voice-agent")).model == FIRST

        await repo.save_rollout(decided("ro-2", SECOND, "started", hours=1))
        assert (await repo.production("voice-agent")).model == SECOND, \
            "a candidate built while ro-2 rolls out would replace SECOND, so it must beat it"

        await repo.save_rollout(decided("ro-2", SECOND, "rolled_back", hours=2))
        await repo.save_route(production_route(FIRST, hours=3))
        assert (await repo.production("voice-agent")).model == FIRST

    async def test_the_candidate_of_a_live_rollout_is_served_from_its_deployment(self, repo):
        await repo.remember_model(SECOND, "azure", "dep-second", None, None)
        await repo.save_rollout(decided("ro-2", SECOND, "started", hours=1))
        assert await repo.production("voice-agent") == ModelTarget(model=SECOND, deployment="dep-second",
                                                                   provider="azure")

    async def test_the_production_arm_is_served_by_the_provider_its_table_names(self, repo):
        await repo.save_route(production_route(FIRST, hours=0, provider="selfhosted"))
        assert await repo.production("voice-agent") == ModelTarget(model=FIRST, provider="selfhosted")

    async def test_a_newer_route_table_wins_and_an_older_one_is_ignored(self, repo):
        await repo.save_route(production_route(SECOND, hours=1, version=2))
        await repo.save_route(production_route(FIRST, hours=0, version=1))
        assert (await repo.production("voice-agent")).model == SECOND
        assert await repo.production("another-route") is None

    async def test_a_production_arm_older_than_the_last_completed_rollout_gives_way_to_it(self, repo):
        await repo.save_route(production_route(FIRST, hours=0))
        await repo.save_rollout(decided("ro-2", SECOND, "completed", hours=1))
        assert (await repo.production("voice-agent")).model == SECOND

    async def test_a_late_decision_does_not_reopen_an_ended_rollout(self, repo):
        await repo.save_rollout(decided("ro-1", FIRST, "rolled_back", hours=2))
        await repo.save_rollout(decided("ro-1", FIRST, "advanced", hours=1))
        assert await repo.ended_rollouts(["ro-1"]) == {"ro-1"}

    async def test_only_ended_rollouts_are_reported_ended(self, repo):
        await repo.save_rollout(decided("ro-1", FIRST, "completed", hours=0))
        await repo.save_rollout(decided("ro-2", SECOND, "aborted", hours=1))
        await repo.save_rollout(decided("ro-3", SECOND, "advanced", hours=2))
        assert await repo.ended_rollouts(["ro-1", "ro-2", "ro-3", "ro-unknown"]) == {"ro-1", "ro-2"}
        assert await repo.ended_rollouts([]) == set()

    # Runs

    async def test_a_run_is_created_once_and_read_back_pending(self, repo):
        cause = {"event_id": "job-1:succeeded", "correlation_id": "cycle-1"}
        assert await repo.create_run(request(cycle_id="cycle-1"), cause) is True
        assert await repo.create_run(request(cycle_id="cycle-2"), None) is False

        record = await repo.run("eval-1")
        assert record.status == "pending" and record.cause == cause
        assert record.request == request(cycle_id="cycle-1")
        assert record.completed_at is None and record.outcome is None and record.result is None
        assert await repo.run("eval-unknown") is None

    async def test_each_pending_run_is_claimed_once_while_its_lease_holds(self, repo):
        await repo.create_run(request("eval-1"), None)
        await repo.create_run(request("eval-2"), None)
        at = now()

        claimed = [await repo.claim_run(at, LEASE), await repo.claim_run(at, LEASE)]

        assert sorted(r.run_id for r in claimed) == ["eval-1", "eval-2"]
        assert all(r.status == "running" for r in claimed)
        assert await repo.claim_run(at + LEASE / 2, LEASE) is None
        assert (await repo.run("eval-1")).status == "running"

    async def test_a_run_whose_lease_ran_out_is_taken_over(self, repo):
        await repo.create_run(request(), None)
        at = now()
        await repo.claim_run(at, LEASE)
        taken = await repo.claim_run(at + LEASE + timedelta(seconds=1), LEASE)
        assert taken is not None and taken.run_id == "eval-1" and taken.status == "running"

    async def test_a_renewed_lease_keeps_the_run(self, repo):
        await repo.create_run(request(), None)
        at = now()
        claimed = await repo.claim_run(at, LEASE)
        await repo.renew_lease("eval-1", claimed.lease_token, at + 3 * LEASE)
        assert await repo.claim_run(at + 2 * LEASE, LEASE) is None
        assert await repo.claim_run(at + 4 * LEASE, LEASE) is not None

    async def test_a_lease_taken_over_can_neither_be_renewed_nor_save(self, repo):
        await repo.create_run(request(), None)
        at = now()
        first = await repo.claim_run(at, LEASE)
        await repo.hold_run("eval-1", first.lease_token)
        second = await repo.claim_run(at + LEASE + timedelta(seconds=1), LEASE)

        assert second.lease_token > first.lease_token
        with pytest.raises(LostLease):
            await repo.renew_lease("eval-1", first.lease_token, at + 3 * LEASE)
        with pytest.raises(LostLease):
            await repo.hold_run("eval-1", first.lease_token)
        await repo.hold_run("eval-1", second.lease_token)
        await repo.renew_lease("eval-1", second.lease_token, at + 3 * LEASE)
        assert (await repo.run("eval-1")).lease_token == second.lease_token

    async def test_a_finished_run_holds_no_lease(self, repo):
        await repo.create_run(request(), None)
        at = now()
        claimed = await repo.claim_run(at, LEASE)
        await repo.finish_run("eval-1", "passed", {}, {}, at)
        with pytest.raises(LostLease):
            await repo.hold_run("eval-1", claimed.lease_token)

    async def test_a_finished_run_keeps_its_verdict_and_is_never_claimed_again(self, repo):
        await repo.create_run(request(), None)
        at = now()
        await repo.claim_run(at, LEASE)
        await repo.finish_run("eval-1", "passed", {"run_id": "eval-1", "outcome": "passed"},
                              {"skipped_gates": []}, at)

        record = await repo.run("eval-1")
        assert (record.status, record.outcome) == ("done", "passed")
        assert record.result == {"run_id": "eval-1", "outcome": "passed"}
        assert record.notes == {"skipped_gates": []} and record.completed_at == at
        assert await repo.claim_run(at + 10 * LEASE, LEASE) is None

    async def test_runs_are_listed_up_to_the_limit(self, repo):
        for n in range(3):
            await repo.create_run(request(f"eval-{n}"), None)
        assert {r.run_id for r in await repo.list_runs()} == {"eval-0", "eval-1", "eval-2"}
        assert len(await repo.list_runs(2)) == 2

    async def test_items_are_stored_once_and_read_by_set_then_id(self, repo):
        items = [EvalItem("v-2", VALIDATION, [{"role": "user", "content": "b"}], [], "B"),
                 EvalItem("g-1", GOLDEN, [{"role": "user", "content": "a"}], ["fact"], None,
                          [{"type": "function", "function": {"name": "book"}}]),
                 EvalItem("v-1", VALIDATION, [{"role": "user", "content": "c"}], [], "C")]
        await repo.save_items("eval-1", items)
        await repo.save_items("eval-1", [EvalItem("g-1", GOLDEN, [{"role": "user", "content": "x"}])])
        await repo.save_items("eval-1", [])

        assert await repo.items("eval-1") == [items[1], items[2], items[0]]
        assert await repo.items("eval-2") == []

    async def test_answers_round_trip_and_a_retried_answer_replaces_the_failed_one(self, repo):
        failed = Answer("g-1", "candidate", FIRST, None, error="HTTP 503", attempts=4)
        teacher = Answer("g-1", "teacher", "gpt-4.1", "€90", 812.5, Usage(100, 20, 64), None, 1,
                         [{"id": "call-1", "function": {"name": "price"}}])
        await repo.save_answers("eval-1", [failed, teacher])
        again = Answer("g-1", "candidate", FIRST, "It's €90.", 95.0, Usage(90, 10), None, 2)
        await repo.save_answers("eval-1", [again])
        await repo.save_answers("eval-1", [])

        got = {(a.item_id, a.role): a for a in await repo.answers("eval-1")}
        assert got == {("g-1", "candidate"): again, ("g-1", "teacher"): teacher}
        assert await repo.answers("eval-2") == []

    async def test_an_answer_without_usage_reads_back_without_usage(self, repo):
        answer = Answer("g-1", "candidate", FIRST, "hi")
        await repo.save_answers("eval-1", [answer])
        assert await repo.answers("eval-1") == [answer]

    async def test_scores_round_trip_and_a_rescored_item_replaces_its_score(self, repo):
        judged = ItemScore("g-1", "candidate", "judge", 0.5, "tie", {"reasons": ["same"]})
        abstained = ItemScore("g-1", "candidate", "llm_hallucination", None, "abstained", {"reason": "?"})
        await repo.save_scores("eval-1", [judged, abstained])
        rescored = ItemScore("g-1", "candidate", "judge", 1.0, "win", {})
        await repo.save_scores("eval-1", [rescored])
        await repo.save_scores("eval-1", [])

        got = {(s.item_id, s.role, s.scorer): s for s in await repo.scores("eval-1")}
        assert got == {("g-1", "candidate", "judge"): rescored,
                       ("g-1", "candidate", "llm_hallucination"): abstained}
        assert await repo.scores("eval-2") == []

    async def test_an_eval_set_version_is_recorded_once(self, repo):
        await repo.record_eval_set("golden-abc", GOLDEN, 32, "golden")
        await repo.record_eval_set("golden-abc", GOLDEN, 32, "golden")

    async def test_items_answers_and_scores_of_runs_finished_before_the_cutoff_are_forgotten(self, repo):
        at = now()
        for run_id in ("eval-old", "eval-young", "eval-running"):
            await repo.create_run(request(run_id), None)
            await repo.claim_run(at, LEASE)
            await _run_details(repo, run_id)
        await repo.finish_run("eval-old", "passed", {"outcome": "passed"}, {}, at - timedelta(hours=2))
        await repo.finish_run("eval-young", "passed", {"outcome": "passed"}, {}, at)

        forgotten = await repo.forget_run_details(at - timedelta(hours=1), 10)

        assert (forgotten.rows, forgotten.run_ids) == (5, {"eval-old"})  # 2 items, 2 answers, 1 score
        assert (await repo.items("eval-old"), await repo.answers("eval-old"), await repo.scores("eval-old")) == (
            [], [], [])
        for kept in ("eval-young", "eval-running"):
            assert (len(await repo.items(kept)), len(await repo.answers(kept)), len(await repo.scores(kept))) == (
                2, 2, 1), kept
        assert (await repo.run("eval-old")).result == {"outcome": "passed"}  # the verdict stays
        assert (await repo.forget_run_details(at - timedelta(hours=1), 10)).rows == 0

    async def test_run_details_are_forgotten_at_most_a_batch_per_table_at_a_time(self, repo):
        at = now()
        await repo.create_run(request("eval-old"), None)
        await repo.claim_run(at, LEASE)
        await _run_details(repo, "eval-old")
        await repo.finish_run("eval-old", "passed", {}, {}, at - timedelta(hours=2))

        rounds = [(await repo.forget_run_details(at, 1)).rows for _ in range(3)]

        assert rounds == [3, 2, 0]  # one row of each table, then the second item and answer

    # Live calls

    async def test_queued_calls_are_claimed_once_each_until_their_lease_runs_out(self, repo):
        await repo.enqueue_calls([queued("obs-1"), queued("obs-2"), queued("obs-3")])
        await repo.enqueue_calls([queued("obs-1")])  # a replay queues nothing twice
        await repo.enqueue_calls([])
        at = now()

        first = await repo.claim_calls(2, at, LEASE)
        rest = await repo.claim_calls(2, at, LEASE)

        assert len(first) == 2 and len(rest) == 1
        assert sorted(c.observation_id for c in first + rest) == ["obs-1", "obs-2", "obs-3"]
        assert rest[0] == queued(rest[0].observation_id)
        assert await repo.claim_calls(5, at + LEASE / 2, LEASE) == []
        assert len(await repo.claim_calls(5, at + LEASE + timedelta(seconds=1), LEASE)) == 3

    async def test_a_deferred_call_waits_and_comes_back_with_its_attempts(self, repo):
        await repo.enqueue_calls([queued("obs-1")])
        at = now()
        [call] = await repo.claim_calls(5, at, LEASE)
        await repo.defer_call("obs-1", 1, at + 2 * LEASE)

        assert await repo.claim_calls(5, at + LEASE + timedelta(seconds=1), LEASE) == []
        [again] = await repo.claim_calls(5, at + 2 * LEASE, LEASE)
        assert again.attempts == 1 and again.trace == call.trace and again.cause == call.cause

    async def test_a_scored_call_is_never_claimed_again(self, repo):
        await repo.enqueue_calls([queued("obs-1"), queued("obs-2")])
        at = now()
        calls = await repo.claim_calls(5, at, LEASE)
        done = next(c for c in calls if c.observation_id == "obs-1")
        await repo.finish_call(done, "candidate", FIRST, {"observation_id": "obs-1"}, "€90",
                               ["price '€75' contradicts the reference"], at)
        with pytest.raises(LostLease):  # finished: a second finish under the same claim saves nothing
            await repo.finish_call(done, "candidate", FIRST, {"observation_id": "obs-1"}, None, [], at)

        later = await repo.claim_calls(5, at + 10 * LEASE, LEASE)
        assert [c.observation_id for c in later] == ["obs-2"]

    async def test_a_call_whose_lease_ran_out_and_was_claimed_again_cannot_be_finished_by_its_first_holder(
            self, repo):
        await repo.enqueue_calls([queued("obs-1")])
        at = now()
        [slow] = await repo.claim_calls(5, at, LEASE)
        [fast] = await repo.claim_calls(5, at + LEASE + timedelta(seconds=1), LEASE)

        with pytest.raises(LostLease):
            await repo.finish_call(slow, "candidate", FIRST, {"observation_id": "obs-1", "by": "slow"}, None, [], at)
        await repo.finish_call(fast, "candidate", FIRST, {"observation_id": "obs-1", "by": "fast"}, None, [], at)
        with pytest.raises(LostLease):  # nor after the new holder finished it
            await repo.finish_call(slow, "candidate", FIRST, {"observation_id": "obs-1", "by": "slow"}, None, [], at)

    async def test_a_deferred_call_cannot_be_finished_under_the_claim_that_deferred_it(self, repo):
        await repo.enqueue_calls([queued("obs-1")])
        at = now()
        [call] = await repo.claim_calls(5, at, LEASE)
        await repo.defer_call("obs-1", 1, at + 2 * LEASE)

        with pytest.raises(LostLease):
            await repo.finish_call(call, "candidate", FIRST, {"observation_id": "obs-1"}, None, [], at)
        [again] = await repo.claim_calls(5, at + 2 * LEASE, LEASE)
        await repo.finish_call(again, "candidate", FIRST, {"observation_id": "obs-1"}, None, [], at)

    async def test_old_calls_are_forgotten_scored_or_not_except_one_being_scored(self, repo):
        await repo.enqueue_calls([queued("obs-1"), queued("obs-2")])
        at = now()
        calls = {c.observation_id: c for c in await repo.claim_calls(5, at, LEASE)}
        await repo.finish_call(calls["obs-1"], "candidate", FIRST, {"observation_id": "obs-1"}, None, [], at)
        await repo.enqueue_calls([queued("obs-3")])  # obs-2 is still being scored; obs-3 waits

        assert await repo.forget_calls(at - timedelta(hours=1), at, 10) == 0
        assert await repo.forget_calls(at, at, 10) == 2
        assert await repo.forget_calls(at, at, 10) == 0
        remaining = await repo.claim_calls(5, at + LEASE + timedelta(seconds=1), LEASE)
        assert [c.observation_id for c in remaining] == ["obs-2"]

    async def test_calls_are_forgotten_at_most_a_batch_at_a_time(self, repo):
        await repo.enqueue_calls([queued("obs-1"), queued("obs-2"), queued("obs-3")])
        at = now()

        assert [await repo.forget_calls(at, at, 2) for _ in range(3)] == [2, 1, 0]


async def _run_details(repo, run_id: str) -> None:
    """Two items with the candidate's answers and one score: what a run stores as it goes."""
    await repo.save_items(run_id, [EvalItem(f"v-{n}", VALIDATION, [{"role": "user", "content": "my card"}], [], "ok")
                                   for n in (1, 2)])
    await repo.save_answers(run_id, [Answer(f"v-{n}", "candidate", FIRST, "noted") for n in (1, 2)])
    await repo.save_scores(run_id, [ItemScore("v-1", "candidate", "judge", 1.0, "win", {})])

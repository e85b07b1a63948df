"""The contract every ``AbstractRolloutRepository`` keeps, written once for all of them.

The fake runs it here (test_rollout_repository_contract.py) and ``SqlRolloutRepository``
runs it against PostgreSQL (tests/integration/test_rollout_repository.py): each subclasses
:class:`RolloutRepositoryContract` and provides a ``repo`` fixture. A fake that drifts from
the SQL store fails here instead of letting unit tests pass on behaviour production lacks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from distillery_contracts.samples import sample_gate, sample_metrics, sample_rollout_decided, sample_route_table
from distillery_rollout_controller.domain.observations import Observation, TrafficSample
from distillery_rollout_controller.domain.rollout import Rollout, RolloutStatus
from distillery_rollout_controller.domain.routing import RouteState

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def rollout(rollout_id: str, status: RolloutStatus, minutes: int = 0, **fields: Any) -> Rollout:
    return Rollout(rollout_id=rollout_id, route="voice-agent", candidate_model=f"ft:m:{rollout_id}",
                   teacher_model="gpt-4.1", previous_model=None, created_at=T0 + timedelta(minutes=minutes),
                   status=status, **fields)


def call(observation_id: str, arm: str = "candidate", **fields: Any) -> Observation:
    base = {"rollout_id": "ro-0001", "stage_index": 0, "arm": arm, "model": f"model-{arm}",
            "observed_at": T0}
    return Observation(observation_id=observation_id, **{**base, **fields})


class RolloutRepositoryContract:
    """The tests; a subclass named ``Test…`` provides the ``repo`` fixture under test."""

    async def test_rollout_state_survives_a_round_trip(self, repo):
        saved = rollout("ro-0001", RolloutStatus.ACTIVE, stage_index=2, stage_started_at=T0, decisions_made=4,
                        last_gates=[sample_gate()], last_metrics={"candidate": sample_metrics()},
                        last_hold_code="inconclusive", eval_run_id="eval-1", cycle_id="cycle-1",
                        candidate_provider="selfhosted", previous_provider="openai")
        await repo.save_rollout(saved)
        saved.decisions_made = 5
        await repo.save_rollout(saved)

        assert await repo.rollout("ro-0001") == saved
        assert await repo.rollout_for_run("eval-1") == saved
        assert await repo.rollout("ro-0404") is None

    async def test_live_and_queued_rollouts_are_found_by_route_in_order(self, repo):
        for r in (rollout("ro-0001", RolloutStatus.COMPLETED), rollout("ro-0002", RolloutStatus.PAUSED, 1),
                  rollout("ro-0004", RolloutStatus.QUEUED, 3), rollout("ro-0003", RolloutStatus.QUEUED, 2)):
            await repo.save_rollout(r)

        assert (await repo.live_rollout("voice-agent")).rollout_id == "ro-0002"
        assert [r.rollout_id for r in await repo.queued_rollouts("voice-agent")] == ["ro-0003", "ro-0004"]
        assert [r.rollout_id for r in await repo.recent_rollouts("voice-agent", 2)] == ["ro-0004", "ro-0003"]
        assert await repo.live_rollout("other-route") is None

    async def test_rollout_ids_are_never_reused(self, repo):
        assert [await repo.next_rollout_id() for _ in range(3)] == ["ro-0001", "ro-0002", "ro-0003"]

    async def test_route_state_and_decisions_round_trip(self, repo):
        state = RouteState(route="clinic-voice", table=sample_route_table(), production_model="ft:m:1")
        await repo.save_route_state(state)
        first = sample_rollout_decided(decision_id="ro-0007:0001:started", decided_at=T0)
        second = sample_rollout_decided(decision_id="ro-0007:0002:advanced", decided_at=T0 + timedelta(hours=1))
        for decision in (second, first, second):
            await repo.add_decision(decision)

        assert await repo.route_state("clinic-voice", lock=True) == state
        assert await repo.decisions("ro-0007") == [first, second]

    async def test_trace_and_score_of_a_call_merge_into_one_sample(self, repo):
        await repo.record_observations([call("o1", latency_ms=500.0, error=False, cost_usd=0.001),
                                        call("o2", latency_ms=300.0, error=True)])
        await repo.record_observations([call("o1", hallucinated=True, judge_outcome="loss", similarity=0.5,
                                             scored=True, observed_at=T0 + timedelta(minutes=5)),
                                        call("o3", arm="teacher", hallucinated=False, scored=True),
                                        call("o4", stage_index=1, scored=True)])

        samples = await repo.stage_samples("ro-0001", 0)

        candidate = samples["candidate"]
        assert (candidate.calls, candidate.scored, candidate.hallucinated, candidate.losses) == (2, 1, 1, 1)
        assert (candidate.errors, candidate.error_known, candidate.latencies) == (1, 2, [300.0, 500.0])
        assert (candidate.cost_n, candidate.similarity_n, candidate.model) == (1, 1, "model-candidate")
        assert (samples["teacher"].calls, samples["teacher"].hallucination_checked) == (1, 1)
        assert set(samples) == {"candidate", "teacher"}

    async def test_traffic_adds_up_per_model_over_the_window(self, repo):
        samples = [TrafficSample("gpt-4.1", T0 + timedelta(minutes=m), 0.006, 1000, 500) for m in (0, 30, 90)]
        await repo.record_traffic(samples[:2])
        await repo.record_traffic([*samples[2:], TrafficSample("ft:m:1", T0, None, 1000, 400)])

        [student, teacher] = await repo.traffic_since(T0 - timedelta(days=1))

        assert (teacher.calls, teacher.priced_calls, teacher.input_tokens) == (3, 3, 3000)
        assert teacher.cost_usd == pytest.approx(0.018)
        assert (teacher.first_at, teacher.last_at) == (T0, T0 + timedelta(minutes=90))
        assert (student.model, student.calls, student.priced_calls) == ("ft:m:1", 1, 0)
        assert await repo.traffic_since(T0 + timedelta(days=1)) == []

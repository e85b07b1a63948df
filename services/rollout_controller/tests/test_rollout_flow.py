"""The controller's rollouts end to end over fakes: starting, walking stages, rolling back."""

from __future__ import annotations

from distillery_contracts.registry import ROLLOUT_DECISIONS, ROUTING_TABLE
from distillery_contracts.samples import sample_evaluation_completed


async def test_passed_evaluation_starts_a_rollout_at_ten_percent(harness, models):
    await harness.passed_evaluation()

    assert harness.decisions() == ["started"]
    assert harness.weights() == {"candidate": 10.0, "teacher": 90.0}
    tables = harness.published(ROUTING_TABLE)
    assert [t.envelope.event_id for t in tables] == ["voice-agent:v1", "voice-agent:v2"]
    [started] = harness.repo.saved_decisions
    assert started.candidate_model == models["student"] and started.previous_model is None
    assert started.cycle_id == "cycle-0007" and started.actor == "rollout-controller"


async def test_failed_evaluation_starts_no_rollout(harness):
    event = sample_evaluation_completed(outcome="failed", gates=[
        {"name": "hallucination", "metric": "hallucination_rate", "model": "m", "value": 0.2,
         "threshold": 0.03, "comparator": "<=", "passed": False, "n": 300}])
    await harness.controller.start_rollout(harness.repo, harness.uow, event)

    assert harness.repo.rollouts == {} and harness.decisions() == []


async def test_good_student_walks_all_five_stages_to_90_10_with_every_decision_recorded(harness, models):
    await harness.passed_evaluation()
    seen_weights = []
    for stage in range(5):
        decision = await harness.pass_stage(stage)
        seen_weights.append(decision.weights)

    assert harness.decisions() == ["started", "advanced", "advanced", "advanced", "advanced", "completed"]
    assert [w.get("candidate") for w in seen_weights[:4]] == [25.0, 50.0, 75.0, 90.0]
    assert harness.weights() == {"production": 90.0, "teacher": 10.0}
    assert harness.repo.routes["voice-agent"].table.arms[0].model == models["student"]
    for decision in harness.repo.saved_decisions[1:]:
        assert decision.gates and all(g.passed for g in decision.gates)
        assert decision.arm_metrics["candidate"].n == 100
    published = [m.envelope.event_id for m in harness.published(ROLLOUT_DECISIONS)]
    assert published == [d.decision_id for d in harness.repo.saved_decisions]


async def test_holds_without_moving_weights_until_both_arms_have_the_minimum_sample(harness, good):
    await harness.passed_evaluation()
    await harness.serve_stage(0, good, good, n=60)
    harness.clock.advance(3600)

    held = await harness.evaluate()

    assert held.decision.value == "held"
    assert "candidate 60/100" in held.reason and "teacher 60/100" in held.reason
    assert harness.weights() == {"candidate": 10.0, "teacher": 90.0}


async def test_holds_until_the_minimum_stage_duration_has_passed(harness, good):
    await harness.passed_evaluation()
    await harness.serve_stage(0, good, good)

    held = await harness.evaluate()
    harness.clock.advance(600)
    advanced = await harness.evaluate()

    assert held.decision.value == "held" and "minimum in stage" in held.reason
    assert advanced.decision.value == "advanced"


async def test_rolls_back_at_once_when_hallucination_rate_rises_at_the_50_percent_stage(harness, good, behaviour):
    await harness.passed_evaluation()
    await harness.pass_stage(0)
    await harness.pass_stage(1)
    await harness.serve_stage(2, behaviour(hallucinations=30), good)

    decision = await harness.evaluate()  # no minimum duration for a failure

    assert decision.decision.value == "rolled_back"
    assert decision.stage_index == 2 and decision.reason.startswith("gate hallucination failed")
    assert harness.weights() == {"teacher": 100.0}
    [gate] = [g for g in decision.gates if g.name == "hallucination"]
    assert gate.passed is False and gate.ci_low > gate.threshold
    assert harness.repo.rollouts["ro-0001"].status.value == "rolled_back"


async def test_records_a_hold_once_per_reason_not_on_every_evaluation(harness, good):
    await harness.passed_evaluation()
    await harness.serve_stage(0, good, good, n=10)
    for _ in range(3):
        await harness.evaluate()

    assert harness.decisions() == ["started", "held"]


async def test_same_evaluation_delivered_twice_starts_one_rollout(harness):
    await harness.passed_evaluation(run_id="eval-1")
    await harness.controller.start_rollout(harness.repo, harness.uow, sample_evaluation_completed(run_id="eval-1"))

    assert list(harness.repo.rollouts) == ["ro-0001"]


async def test_candidate_that_passes_during_a_rollout_starts_after_it_ends(harness, models):
    await harness.passed_evaluation()
    await harness.passed_evaluation(candidate=models["next_student"], run_id="eval-2")
    assert harness.repo.rollouts["ro-0002"].status.value == "queued"
    for stage in range(5):
        await harness.pass_stage(stage)

    assert harness.repo.rollouts["ro-0001"].status.value == "completed"
    assert harness.repo.rollouts["ro-0002"].status.value == "active"
    assert harness.weights() == {"candidate": 10.0, "production": 80.0, "teacher": 10.0}
    second = harness.repo.saved_decisions[-1]
    assert second.rollout_id == "ro-0002" and second.previous_model == models["student"]


async def test_new_student_replaces_production_against_the_production_arm(harness, models, good, behaviour):
    await harness.passed_evaluation()
    for stage in range(5):
        await harness.pass_stage(stage)
    await harness.passed_evaluation(candidate=models["next_student"], run_id="eval-2")
    await harness.serve_stage(0, behaviour(latency_ms=900.0), good, rollout_id="ro-0002",
                              baseline_arm="production")

    decision = await harness.evaluate()

    assert decision.decision.value == "rolled_back" and "latency" in decision.reason
    assert harness.weights() == {"production": 90.0, "teacher": 10.0}
    assert harness.repo.routes["voice-agent"].table.arms[0].model == models["student"]

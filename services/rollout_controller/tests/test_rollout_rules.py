"""The rules a rollout keeps whatever asks it to move: the stages and the teacher's floor, the
arms a table lists, and which status allows which step."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from distillery_contracts.rollout import RolloutDecision
from distillery_rollout_controller.domain.plan import StagePlan
from distillery_rollout_controller.domain.rollout import Rollout, RolloutStateError, RolloutStatus
from distillery_rollout_controller.domain.routing import ArmEndpoints, build_table

NOW = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(("percents", "floor", "message"), [
    ((), 10, "a rollout needs at least one stage"),
    ((10, 100), -1, "teacher floor must be within 0..100, got -1"),
    ((10, 90), 100, "teacher floor must be within 0..100, got 100"),
    ((10, 10, 90), 10, r"stage percents must increase, got \[10.0, 10.0, 90.0\]"),
    ((0, 25, 90), 10, "the first stage must send some traffic, got 0%"),
    ((10, 25, 89.9), 10, r"the last stage must be 90% \(100 minus the teacher's 10% floor\), got 89.9%"),
])
def test_a_plan_outside_the_rules_is_refused_saying_which_rule(percents, floor, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        StagePlan.of(percents, floor)


def test_the_edges_of_the_rules_are_allowed():
    assert StagePlan.of([1, 100], 0).teacher_floor == 0.0  # no floor: a student may take every call
    assert StagePlan.of([20, 95], 5) == StagePlan((20.0, 95.0), 5.0)
    assert StagePlan.of([0.5, 99.5], 0.5).stage_weights(0, has_production=False) == {
        "candidate": 0.5, "teacher": 99.5}


def test_a_stage_outside_the_plan_and_a_share_between_stages_are_none_of_its_stages():
    plan = StagePlan()
    with pytest.raises(ValueError, match=r"^stage 5 is outside 0..4$"):
        plan.percent(5)
    with pytest.raises(ValueError, match=r"^stage -1 is outside 0..4$"):
        plan.percent(-1)
    assert plan.stage_of(25.0) == 1 and plan.stage_of(25.5) is None and plan.stage_of(24.9999999) == 1


def test_a_table_lists_each_arm_with_a_share_in_bucket_order_and_names_its_rollout():
    endpoints = ArmEndpoints(teacher_provider="azure", teacher_deployment="gpt-41-eu")
    models = {"candidate": "clinic-v3", "production": "clinic-v2", "teacher": "gpt-4.1"}
    table = build_table("voice-agent", 7, "ro-0003", {"teacher": 10.0, "production": 0.0, "candidate": 90.0},
                        models, endpoints, NOW)
    assert [(a.name, a.model, a.provider, a.deployment, a.weight) for a in table.arms] == [
        ("candidate", "clinic-v3", "openai", None, 90.0), ("teacher", "gpt-4.1", "azure", "gpt-41-eu", 10.0)]
    assert (table.route, table.version, table.rollout_id, table.updated_at) == ("voice-agent", 7, "ro-0003", NOW)
    small = build_table("voice-agent", 8, None, {"candidate": 0.5, "teacher": 99.5}, models, endpoints, NOW)
    assert [(a.name, a.weight) for a in small.arms] == [("candidate", 0.5), ("teacher", 99.5)]
    with pytest.raises(ValueError, match=r"^no model for arm\(s\) \['production'\] of route 'voice-agent'$"):
        build_table("voice-agent", 9, None, {"production": 90.0, "teacher": 10.0}, {"teacher": "gpt-4.1"},
                    endpoints, NOW)


def rollout(status: RolloutStatus = RolloutStatus.QUEUED, stage_index: int = 0) -> Rollout:
    return Rollout(rollout_id="ro-1", route="voice-agent", candidate_model="clinic-v3", teacher_model="gpt-4.1",
                   previous_model="clinic-v2", created_at=NOW, status=status, stage_index=stage_index)


@pytest.mark.parametrize(("status", "step", "message"), [
    (RolloutStatus.ACTIVE, lambda r: r.begin(NOW), "cannot start rollout ro-1: it is active"),
    (RolloutStatus.QUEUED, lambda r: r.advance(StagePlan(), NOW), "cannot advance rollout ro-1: it is queued"),
    (RolloutStatus.PAUSED, lambda r: r.pause(), "cannot pause rollout ro-1: it is paused"),
    (RolloutStatus.ACTIVE, lambda r: r.resume(), "cannot resume rollout ro-1: it is active"),
    (RolloutStatus.QUEUED, lambda r: r.finish(RolloutStatus.COMPLETED, "x", NOW),
     "cannot mark as completed rollout ro-1: it is queued"),
    (RolloutStatus.QUEUED, lambda r: r.finish(RolloutStatus.ROLLED_BACK, "x", NOW),
     "cannot mark as rolled_back rollout ro-1: it is queued"),
    (RolloutStatus.ABORTED, lambda r: r.finish(RolloutStatus.ABORTED, "x", NOW), "cannot end rollout ro-1: it is aborted"),
    (RolloutStatus.ACTIVE, lambda r: r.finish(RolloutStatus.ACTIVE, "x", NOW), "active does not end a rollout"),
])
def test_a_step_its_status_does_not_allow_is_refused_and_changes_nothing(status, step, message):
    subject = rollout(status)
    with pytest.raises(ValueError, match=f"^{message}$"):
        step(subject)
    assert subject.status is status


def test_each_allowed_step_moves_the_status_it_names():
    subject = rollout()
    subject.begin(NOW)
    assert (subject.status, subject.stage_index, subject.stage_started_at) == (RolloutStatus.ACTIVE, 0, NOW)
    subject.pause()
    assert subject.status is RolloutStatus.PAUSED
    subject.last_hold_code = "waiting"
    subject.resume()
    assert (subject.status, subject.last_hold_code) == (RolloutStatus.ACTIVE, None)
    queued = rollout()
    queued.finish(RolloutStatus.ABORTED, "superseded", NOW)  # a queued rollout may only be aborted
    assert (queued.status, queued.end_reason, queued.ended_at) == (RolloutStatus.ABORTED, "superseded", NOW)


def test_the_last_stage_is_completed_not_advanced():
    plan = StagePlan()
    subject = rollout(RolloutStatus.ACTIVE, stage_index=plan.last_stage - 1)
    subject.advance(plan, NOW)
    assert subject.stage_index == plan.last_stage
    with pytest.raises(RolloutStateError, match="^rollout ro-1 is at its last stage; complete it instead$"):
        subject.advance(plan, NOW)
    assert subject.stage_index == plan.last_stage


def test_decisions_are_numbered_one_by_one_and_say_the_share_only_while_a_student_serves():
    plan = StagePlan()
    subject = rollout(RolloutStatus.ACTIVE, stage_index=1)
    first = subject.decide(RolloutDecision.HELD, "waiting", plan, NOW)
    second = subject.decide(RolloutDecision.HELD, "waiting", plan, NOW, weights={"teacher": 100.0})
    assert [first.decision_id, second.decision_id] == ["ro-1:0001:held", "ro-1:0002:held"]
    assert (first.stage_percent, first.weights) == (25.0, {"candidate": 25.0, "production": 65.0, "teacher": 10.0})
    assert second.weights == {"teacher": 100.0}
    subject.finish(RolloutStatus.COMPLETED, "all stages passed", NOW)
    assert subject.decide(RolloutDecision.COMPLETED, "done", plan, NOW).stage_percent == 25.0
    aborted = rollout(RolloutStatus.ACTIVE, stage_index=2)
    aborted.finish(RolloutStatus.ABORTED, "operator", NOW)
    assert aborted.decide(RolloutDecision.ABORTED, "operator", plan, NOW).stage_percent == 0.0

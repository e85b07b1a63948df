"""Operator commands: pause, resume, abort and forced advance, each recorded with who asked."""

from __future__ import annotations

import pytest

from distillery_contracts.commands import AbortRollout, AdvanceRollout, PauseRollout, ResumeRollout
from distillery_runtime.errors import PermanentError
from rollout_support import signed


async def test_paused_rollout_holds_its_weights_even_when_gates_pass(harness, good):
    await harness.passed_evaluation()
    await harness.command(PauseRollout(rollout_id="ro-0001", reason="holiday traffic", requested_by="ana"))
    await harness.serve_stage(0, good, good)
    harness.clock.advance(3600)

    assert await harness.evaluate() is None
    assert harness.weights() == {"candidate": 10.0, "teacher": 90.0}
    paused = harness.repo.saved_decisions[-1]
    assert (paused.decision.value, paused.actor, paused.reason) == ("paused", "ana", "holiday traffic")


async def test_resumed_rollout_advances_when_its_gates_pass(harness, good):
    await harness.passed_evaluation()
    await harness.command(PauseRollout(rollout_id="ro-0001", requested_by="ana"))
    await harness.serve_stage(0, good, good)
    harness.clock.advance(3600)
    await harness.command(ResumeRollout(rollout_id="ro-0001", requested_by="ben"))

    decision = await harness.evaluate()

    assert harness.decisions() == ["started", "paused", "resumed", "advanced"]
    assert decision.weights == {"candidate": 25.0, "teacher": 75.0}


async def test_abort_sends_all_student_traffic_back_to_the_production_model(harness, models):
    await harness.passed_evaluation()
    for stage in range(5):
        await harness.pass_stage(stage)
    await harness.passed_evaluation(candidate=models["next_student"], run_id="eval-2")
    await harness.pass_stage(0, rollout_id="ro-0002", baseline_arm="production")
    assert harness.weights() == {"candidate": 25.0, "production": 65.0, "teacher": 10.0}

    await harness.command(AbortRollout(rollout_id="ro-0002", reason="caller complaints", requested_by="ana"))

    assert harness.weights() == {"production": 90.0, "teacher": 10.0}
    assert harness.repo.routes["voice-agent"].table.arms[0].model == models["student"]
    aborted = harness.repo.saved_decisions[-1]
    assert (aborted.decision.value, aborted.actor, aborted.reason) == ("aborted", "ana", "caller complaints")


async def test_forced_advance_is_recorded_with_who_asked_and_why(harness):
    await harness.passed_evaluation()

    await harness.command(AdvanceRollout(rollout_id="ro-0001", force=True, reason="approved after review",
                                         requested_by="ana"))

    forced = harness.repo.saved_decisions[-1]
    assert forced.decision.value == "force_advanced" and forced.actor == "ana"
    assert forced.reason == "forced by ana: approved after review"
    assert harness.weights() == {"candidate": 25.0, "teacher": 75.0}


async def test_advance_without_force_only_moves_when_the_gates_allow_it(harness, good):
    await harness.passed_evaluation()
    await harness.serve_stage(0, good, good, n=20)

    await harness.command(AdvanceRollout(rollout_id="ro-0001", requested_by="ana"))

    assert harness.decisions() == ["started", "held"]
    assert harness.weights() == {"candidate": 10.0, "teacher": 90.0}


async def test_forced_advance_at_the_last_stage_completes_the_rollout(harness):
    await harness.passed_evaluation()
    for _ in range(5):
        await harness.command(AdvanceRollout(rollout_id="ro-0001", force=True, reason="drill", requested_by="ana"))

    assert harness.decisions()[-1] == "completed"
    assert harness.weights() == {"production": 90.0, "teacher": 10.0}


async def test_command_for_an_unknown_rollout_is_dead_lettered_with_the_reason(harness):
    await harness.passed_evaluation()

    with pytest.raises(PermanentError, match="no rollout 'ro-0099'"):
        await harness.controller.apply_command(harness.repo, harness.uow,
                                               signed(PauseRollout(rollout_id="ro-0099", requested_by="ana")))


async def test_pausing_a_finished_rollout_is_refused_with_its_status(harness):
    await harness.passed_evaluation()
    await harness.command(AbortRollout(rollout_id="ro-0001", reason="drill", requested_by="ana"))

    with pytest.raises(PermanentError, match="it is aborted"):
        await harness.controller.apply_command(harness.repo, harness.uow,
                                               signed(PauseRollout(rollout_id="ro-0001", requested_by="ana")))
    assert harness.weights() == {"teacher": 100.0}


async def test_forced_advance_records_the_gate_evidence_it_overruled(harness, good):
    await harness.passed_evaluation()
    await harness.serve_stage(0, good, good)
    held = await harness.evaluate()  # the gates pass, but the stage is younger than its minimum

    await harness.command(AdvanceRollout(rollout_id="ro-0001", force=True, reason="drill", requested_by="ana"))

    forced = harness.repo.saved_decisions[-1]
    assert held.decision.value == "held" and held.gates
    assert (forced.gates, forced.arm_metrics) == (held.gates, held.arm_metrics)

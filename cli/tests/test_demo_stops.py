"""When the demo stops: two cycles rolled out, a later candidate stopped, or (self-hosted)
the first candidate's verdict, whatever it is."""

from __future__ import annotations

from distillery_cli.demo.monitor import CycleView, PipelineView
from distillery_cli.demo.run import finished
from distillery_contracts.evaluations import EvalOutcome
from distillery_contracts.rollout import RolloutDecision
from distillery_contracts.samples import sample_evaluation_completed, sample_rollout_decided


def view(*cycles: CycleView) -> PipelineView:
    return PipelineView(cycles={c.cycle_id: c for c in cycles})


def failed_evaluation() -> object:
    passed = sample_evaluation_completed()
    gates = [g.model_copy(update={"passed": g.name != "hallucination"}) for g in passed.gates]
    return passed.model_copy(update={"outcome": EvalOutcome.FAILED, "gates": gates})


def test_a_first_candidate_stopped_by_its_gates_ends_only_a_selfhosted_demo_naming_the_gate():
    stopped = view(CycleView("cycle-0001", evaluation=failed_evaluation()))
    assert finished(stopped, 1, stop_at_verdict=True) == (
        True, "the student did not pass its gates (hallucination)")
    assert finished(stopped, 1) == (False, "")


def test_a_rolled_back_rollout_ends_a_selfhosted_demo_and_a_rollout_in_progress_does_not():
    rolled_back = sample_rollout_decided(decision=RolloutDecision.ROLLED_BACK)
    advanced = sample_rollout_decided(decision=RolloutDecision.ADVANCED)
    cycle = CycleView("cycle-0001", evaluation=sample_evaluation_completed(), decisions=[advanced])
    assert finished(view(cycle), 1, stop_at_verdict=True) == (False, "")
    cycle.decisions.append(rolled_back)
    assert finished(view(cycle), 1, stop_at_verdict=True)[0]


def test_a_completed_rollout_ends_the_demo_once_enough_cycles_did():
    completed = sample_rollout_decided(decision=RolloutDecision.COMPLETED)
    one = CycleView("cycle-0001", evaluation=sample_evaluation_completed(), decisions=[completed])
    assert finished(view(one), 1, stop_at_verdict=True) == (True, "1 cycle(s) rolled out to 90/10")
    assert finished(view(one), 2) == (False, "")


def test_a_failed_fine_tune_ends_a_selfhosted_demo_with_its_error():
    from distillery_contracts.finetune import JobError, JobStatus
    from distillery_contracts.samples import sample_finetune_job_changed

    job = sample_finetune_job_changed(status=JobStatus.FAILED, fine_tuned_model=None,
                                      error=JobError(code="training_failed", message="raise max_length"))
    stopped = view(CycleView("cycle-0001", jobs=[job]))
    assert finished(stopped, 1, stop_at_verdict=True) == (True, "the student's fine-tuning failed: raise max_length")
    assert finished(stopped, 1) == (False, "")

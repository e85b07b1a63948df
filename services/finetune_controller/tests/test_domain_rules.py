"""Status mapping, training metrics and the model registry's rules."""

from __future__ import annotations

from datetime import UTC, datetime

from distillery_contracts.finetune import JobMetrics, JobStatus
from distillery_contracts.rollout import RolloutDecision
from distillery_contracts.samples import sample_rollout_decided
from distillery_finetune_controller.domain.metrics import latest_metrics
from distillery_finetune_controller.domain.registry import ModelStatus, RegisteredModel, decision_changes
from distillery_finetune_controller.domain.status import AZURE_STATUSES, OPENAI_STATUSES, is_advance, map_status

S = JobStatus
T = datetime(2026, 11, 2, tzinfo=UTC)


def test_azure_statuses_map_onto_ours():
    assert {raw: map_status(raw, AZURE_STATUSES) for raw in ("created", "pending", "paused", "running")} == {
        "created": S.SUBMITTED, "pending": S.QUEUED, "paused": S.QUEUED, "running": S.RUNNING}
    assert map_status("validating_files", OPENAI_STATUSES) is S.VALIDATING
    assert map_status("reticulating", OPENAI_STATUSES) is None


def test_states_only_move_forward_and_end_for_good():
    assert is_advance(S.QUEUED, S.RUNNING)
    assert not is_advance(S.RUNNING, S.QUEUED)  # an Azure pause is not a new state
    assert is_advance(S.SUBMITTED, S.CANCELLED)
    assert not is_advance(S.SUCCEEDED, S.FAILED)


def test_the_latest_step_wins_and_full_validation_figures_are_preferred():
    samples = [{"step": 20, "train_loss": 0.8, "valid_loss": 1.1},
               {"step": 10, "train_loss": 1.5},
               {"step": 20, "full_valid_loss": 0.9, "full_valid_mean_token_accuracy": 0.8, "valid_loss": 3.0}]
    metrics = latest_metrics(JobMetrics(), samples)
    assert (metrics.step, metrics.train_loss, metrics.valid_loss, metrics.valid_token_accuracy) == (20, 0.8, 0.9, 0.8)


def test_metrics_from_an_older_step_never_overwrite_newer_ones():
    current = JobMetrics(step=30, train_loss=0.3)
    assert latest_metrics(current, [{"step": 10, "train_loss": 2.0}]) == current


def test_nonsense_metric_values_are_ignored():
    metrics = latest_metrics(JobMetrics(), [{"step": 5, "train_loss": float("nan"),
                                             "train_mean_token_accuracy": 1.7, "valid_loss": 0.4}])
    assert (metrics.train_loss, metrics.train_token_accuracy, metrics.valid_loss) == (None, None, 0.4)


def model(name: str, status: ModelStatus, deployment: str | None = None) -> RegisteredModel:
    return RegisteredModel(fine_tuned_model=name, job_id=f"job-{name}", dataset_id="ds", cycle_id=None,
                           base_model="gpt-4o-mini", provider="openai", provider_job_id=None,
                           deployment_name=deployment, trained_tokens=None, metrics=JobMetrics(),
                           status=status, registered_at=T, status_changed_at=T)


def decided(kind: RolloutDecision, candidate: str = "ft:new", previous: str | None = "ft:old"):
    return sample_rollout_decided(decision=kind, candidate_model=candidate, previous_model=previous)


def changes(kind: RolloutDecision, models: list[RegisteredModel], candidate: str = "ft:new") -> dict[str, ModelStatus]:
    return {c.fine_tuned_model: c.status for c in decision_changes(decided(kind, candidate), models)}


def test_a_started_rollout_puts_the_candidate_in_rollout():
    assert changes(RolloutDecision.STARTED, [model("ft:new", ModelStatus.CANDIDATE)]) == {
        "ft:new": ModelStatus.IN_ROLLOUT}


def test_a_completed_rollout_promotes_the_candidate_and_retires_the_old_production_model():
    known = [model("ft:new", ModelStatus.IN_ROLLOUT), model("ft:old", ModelStatus.PRODUCTION)]
    assert changes(RolloutDecision.COMPLETED, known) == {
        "ft:new": ModelStatus.PRODUCTION, "ft:old": ModelStatus.RETIRED}


def test_a_rolled_back_or_aborted_candidate_is_retired():
    for kind in (RolloutDecision.ROLLED_BACK, RolloutDecision.ABORTED):
        assert changes(kind, [model("ft:new", ModelStatus.IN_ROLLOUT)]) == {"ft:new": ModelStatus.RETIRED}


def test_azure_decisions_name_the_deployment_and_find_the_same_model():
    known = [model("gpt-4o-mini.ft-1", ModelStatus.CANDIDATE, deployment="distillery-ds-1")]
    assert changes(RolloutDecision.STARTED, known, candidate="distillery-ds-1") == {
        "gpt-4o-mini.ft-1": ModelStatus.IN_ROLLOUT}


def test_decisions_about_models_we_did_not_train_change_nothing():
    assert changes(RolloutDecision.STARTED, [model("ft:other", ModelStatus.CANDIDATE)]) == {}


def test_a_retired_model_is_released_after_the_delay_and_no_other_change_releases_one():
    from datetime import timedelta

    known = [model("ft:new", ModelStatus.IN_ROLLOUT), model("ft:old", ModelStatus.PRODUCTION)]
    completed = decision_changes(decided(RolloutDecision.COMPLETED), known, timedelta(seconds=60))
    rolled_back = decision_changes(decided(RolloutDecision.ROLLED_BACK), known[:1], timedelta(seconds=60))
    decided_at = decided(RolloutDecision.COMPLETED).decided_at

    assert {c.fine_tuned_model: c.undeploy_at for c in completed} == {
        "ft:old": decided_at + timedelta(seconds=60), "ft:new": None}
    assert [c.undeploy_at for c in rolled_back] == [decided_at + timedelta(seconds=60)]

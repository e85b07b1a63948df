"""Where each fine-tuned model stands, and what a job records, at the edges of their rules.

The registry says which model is in production: the one every new student must beat, and the one
a completed rollout retires. Each transition is pinned here for every kind of decision and every
status a model may be in, with the job's own bookkeeping (resolved hyperparameters, the poll's
back-off, Azure's deployment names, what a job and its events carry).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from distillery_contracts.finetune import Hyperparameters, JobMetrics, JobStatus
from distillery_contracts.rollout import RolloutDecision as D
from distillery_contracts.samples import sample_dataset_built, sample_rollout_decided
from distillery_finetune_controller.domain.job import FileRef, Job, JobDefaults, _resolved, deployment_name, new_job
from distillery_finetune_controller.domain.provider_types import ProviderJob
from distillery_finetune_controller.domain.registry import ModelStatus as S
from distillery_finetune_controller.domain.registry import RegisteredModel, StatusChange, decision_changes
from distillery_finetune_controller.domain.registry import registered_model

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ROLLOUT = "ro-9"
AFTER = timedelta(seconds=60)


def model(name: str, status: S, deployment: str | None = None) -> RegisteredModel:
    return RegisteredModel(fine_tuned_model=name, job_id=f"job-{name}", dataset_id=f"ds-{name}", cycle_id="c",
                           base_model="base", provider="openai", provider_job_id=None, deployment_name=deployment,
                           trained_tokens=None, metrics=JobMetrics(), status=status, registered_at=T0,
                           status_changed_at=T0)


def changes(kind: D, candidate: str, *known: RegisteredModel) -> list[StatusChange]:
    decision = sample_rollout_decided(decision=kind, candidate_model=candidate, rollout_id=ROLLOUT, decided_at=T0)
    return decision_changes(decision, known, undeploy_after=AFTER)


def test_a_completed_rollout_puts_its_student_in_production_and_retires_only_the_one_there_before():
    known = (model("old", S.PRODUCTION), model("new", S.IN_ROLLOUT), model("other", S.CANDIDATE),
             model("gone", S.RETIRED))
    assert changes(D.COMPLETED, "new", *known) == [
        StatusChange("old", S.RETIRED, ROLLOUT, T0 + AFTER), StatusChange("new", S.PRODUCTION, ROLLOUT)]


def test_a_completed_rollout_seen_again_changes_nothing():
    assert changes(D.COMPLETED, "new", model("old", S.RETIRED), model("new", S.PRODUCTION)) == []


def test_a_completed_rollout_of_a_model_not_ours_still_retires_ours_in_production():
    assert changes(D.COMPLETED, "theirs", model("old", S.PRODUCTION)) == [
        StatusChange("old", S.RETIRED, ROLLOUT, T0 + AFTER)]


def test_a_decision_finds_an_azure_model_by_its_deployment_name():
    assert changes(D.STARTED, "deploy-7", model("ft:gpt:7", S.CANDIDATE, deployment="deploy-7")) == [
        StatusChange("ft:gpt:7", S.IN_ROLLOUT, ROLLOUT)]
    assert model("m", S.CANDIDATE).names() == {"m"}
    assert model("m", S.CANDIDATE, deployment="d").names() == {"m", "d"}


@pytest.mark.parametrize(("kind", "status", "becomes"), [
    (D.STARTED, S.CANDIDATE, S.IN_ROLLOUT),
    (D.STARTED, S.IN_ROLLOUT, None),
    (D.STARTED, S.PRODUCTION, None),  # a production model is never moved back into a rollout
    (D.STARTED, S.RETIRED, S.IN_ROLLOUT),  # tried again
    (D.ADVANCED, S.CANDIDATE, S.IN_ROLLOUT),  # repairs a missed 'started'
    (D.HELD, S.CANDIDATE, S.IN_ROLLOUT),
    (D.PAUSED, S.CANDIDATE, S.IN_ROLLOUT),
    (D.RESUMED, S.CANDIDATE, S.IN_ROLLOUT),
    (D.FORCE_ADVANCED, S.CANDIDATE, S.IN_ROLLOUT),
    (D.ADVANCED, S.IN_ROLLOUT, None),
    (D.ADVANCED, S.RETIRED, None),  # an ongoing decision does not revive a retired model
    (D.ROLLED_BACK, S.IN_ROLLOUT, S.RETIRED),
    (D.ABORTED, S.CANDIDATE, S.RETIRED),
    (D.ROLLED_BACK, S.RETIRED, None),
    (D.ROLLED_BACK, S.PRODUCTION, None),  # only a completed rollout retires a production model
])
def test_each_decision_moves_its_candidate_one_step(kind, status, becomes):
    got = changes(kind, "m", model("m", status), model("bystander", S.PRODUCTION))
    expected = [] if becomes is None else [
        StatusChange("m", becomes, ROLLOUT, T0 + AFTER if becomes is S.RETIRED else None)]
    assert got == expected


def test_a_decision_about_a_model_we_do_not_know_changes_nothing_but_a_completion():
    for kind in (D.STARTED, D.ADVANCED, D.ROLLED_BACK, D.ABORTED):
        assert changes(kind, "theirs", model("m", S.IN_ROLLOUT)) == []


def job(**changes_: object) -> Job:
    base = Job(job_id="job-ds-1", provider="openai", dataset_id="ds-1", dataset_version=1, cycle_id="c-1",
               base_model="gpt-4o-mini", train=FileRef("u", "s", 1), validation=FileRef("v", "t", 2),
               hyperparameters=Hyperparameters(n_epochs=3), suffix="d", seed=None, created_at=T0, next_check_at=T0)
    return dataclasses.replace(base, **changes_)


def test_a_registered_model_carries_its_jobs_lineage_and_starts_as_a_candidate():
    done = job(fine_tuned_model="ft:m", provider_job_id="ftjob-1", deployment_name="d-1", trained_tokens=900,
               metrics=JobMetrics(train_loss=0.4))
    entry = registered_model(done, T0)
    assert (entry.fine_tuned_model, entry.job_id, entry.dataset_id, entry.cycle_id, entry.base_model, entry.provider,
            entry.provider_job_id, entry.deployment_name, entry.trained_tokens, entry.metrics, entry.status,
            entry.registered_at, entry.status_changed_at) == (
        "ft:m", "job-ds-1", "ds-1", "c-1", "gpt-4o-mini", "openai", "ftjob-1", "d-1", 900,
        JobMetrics(train_loss=0.4), S.CANDIDATE, T0, T0)
    with pytest.raises(ValueError, match="^job job-ds-1 succeeded without a fine-tuned model$"):
        registered_model(job(), T0)


def test_a_failed_release_waits_at_least_as_long_as_the_provider_asked():
    entry = model("m", S.RETIRED).undeploy_failed(T0, base_s=5, max_s=600, retry_after_s=120)
    assert (entry.undeploy_failures, entry.undeploy_due_at) == (1, T0 + timedelta(seconds=120))


@pytest.mark.parametrize(("requested", "reported", "resolved"), [
    ({"n_epochs": "auto", "batch_size": None, "learning_rate_multiplier": "auto"},
     {"n_epochs": 4, "batch_size": 8, "learning_rate_multiplier": 2}, (4, 8, 2.0)),
    ({"n_epochs": 3, "batch_size": 16, "learning_rate_multiplier": 0.5},
     {"n_epochs": 4, "batch_size": 8, "learning_rate_multiplier": 2}, (3, 16, 0.5)),  # ours stand
    ({"n_epochs": "auto"}, {"n_epochs": 0}, ("auto", None, None)),  # nothing resolved yet
    ({"n_epochs": "auto", "batch_size": "auto"}, {"n_epochs": True, "batch_size": "8"}, ("auto", "auto", None)),
    ({"n_epochs": None, "batch_size": None}, {"n_epochs": 1, "batch_size": 1.0}, (1, 1, None)),
    ({"learning_rate_multiplier": None}, {"learning_rate_multiplier": 0.3}, (None, None, 0.3)),
])
def test_the_providers_resolved_hyperparameters_replace_only_auto_and_unset_ones(requested, reported, resolved):
    got = _resolved(Hyperparameters.model_validate(requested), reported)
    assert (got.n_epochs, got.batch_size, got.learning_rate_multiplier) == resolved
    assert type(got.learning_rate_multiplier) is (float if isinstance(resolved[2], float) else type(resolved[2]))
    assert type(got.batch_size) is type(resolved[1])


@pytest.mark.parametrize(("prefix", "dataset_id", "name"), [
    ("distillery", "ds-0007", "distillery-ds-0007"),
    ("clinic prod", "ds/7:x", "clinic-prod-ds-7-x"),
    ("p", "a" * 70, "p-" + "a" * 62),  # ARM names are at most 64 characters
    ("Mixed_Case.v2", "x", "Mixed_Case.v2-x"),
])
def test_an_azure_deployment_name_is_the_prefix_and_dataset_in_armss_characters(prefix, dataset_id, name):
    assert deployment_name(prefix, dataset_id) == name


def test_a_new_job_takes_the_datasets_files_and_configurations_overrides():
    dataset = sample_dataset_built()
    defaults = JobDefaults(provider="azure", base_model=None, suffix="s", seed=11, n_epochs=None, batch_size=4,
                           learning_rate_multiplier=0.2)
    made = new_job(dataset, defaults, {"by": "test"}, T0)
    files = dataset.files
    assert (made.job_id, made.provider, made.dataset_id, made.dataset_version, made.cycle_id, made.base_model) == (
        f"job-{dataset.dataset_id}", "azure", dataset.dataset_id, dataset.version, dataset.cycle_id,
        dataset.base_model)
    assert (made.train, made.validation) == (
        FileRef(files.train.uri, files.train.sha256, files.train.size_bytes),
        FileRef(files.validation.uri, files.validation.sha256, files.validation.size_bytes))
    assert made.hyperparameters == Hyperparameters(n_epochs=dataset.epochs, batch_size=4, learning_rate_multiplier=0.2,
                                                   seed=11)
    assert (made.suffix, made.seed, made.created_at, made.next_check_at, made.cause) == ("s", 11, T0, T0,
                                                                                         {"by": "test"})
    assert made.estimated_cost_usd == pytest.approx(dataset.estimated_training_cost_usd)
    fewer = new_job(dataset, dataclasses.replace(defaults, n_epochs=1, base_model="other"), {}, T0)
    assert fewer.base_model == "other"
    assert fewer.estimated_cost_usd == pytest.approx(dataset.estimated_training_cost_usd / dataset.epochs)


def test_a_job_asks_the_provider_for_exactly_what_it_was_given():
    ready = job(training_file_id="file-t", validation_file_id="file-v", seed=5)
    request = ready.request()
    assert (request.job_id, request.dataset_id, request.cycle_id, request.base_model, request.training_file,
            request.validation_file, request.suffix, request.seed, request.hyperparameters) == (
        "job-ds-1", "ds-1", "c-1", "gpt-4o-mini", "file-t", "file-v", "d", 5, Hyperparameters(n_epochs=3))
    with pytest.raises(ValueError, match="^job job-ds-1 has no uploaded training file yet$"):
        job().request()


def test_a_jobs_event_carries_its_whole_state():
    state = job(provider_job_id="ftjob-1", fine_tuned_model="ft:m", deployment_name="d", trained_tokens=7,
                metrics=JobMetrics(train_loss=0.1))
    event = state.event(JobStatus.RUNNING, T0)
    assert (event.job_id, event.provider, event.provider_job_id, event.dataset_id, event.cycle_id, event.base_model,
            event.status, event.fine_tuned_model, event.deployment_name, event.trained_tokens,
            event.hyperparameters, event.metrics, event.occurred_at) == (
        "job-ds-1", "openai", "ftjob-1", "ds-1", "c-1", "gpt-4o-mini", JobStatus.RUNNING, "ft:m", "d", 7,
        Hyperparameters(n_epochs=3), JobMetrics(train_loss=0.1), T0)


def provider_job(status: JobStatus | None, **fields: object) -> ProviderJob:
    return ProviderJob(provider_job_id="ftjob-1", raw_status=str(fields.pop("raw_status", "running")), status=status,
                       model="gpt-4o-mini", created_at=T0, **fields)  # type: ignore[arg-type]


def test_what_the_provider_says_is_kept_and_a_silent_failure_gets_a_reason():
    tracked = job(trained_tokens=5)
    tracked.observe(provider_job(None, raw_status="queued_somewhere"), T0, needs_deployment=False)
    assert (tracked.provider_status, tracked.trained_tokens) == ("queued_somewhere", 5)
    tracked.observe(provider_job(JobStatus.RUNNING, trained_tokens=0), T0, needs_deployment=False)
    assert tracked.trained_tokens == 0  # zero is a count, not a missing one
    [failed] = tracked.observe(provider_job(JobStatus.FAILED, raw_status="failed"), T0, needs_deployment=False)
    assert failed.error is not None and (failed.error.code, failed.error.message) == (
        None, "the provider reported the job failed without a reason")


def test_a_job_accepted_by_a_provider_that_must_deploy_waits_for_its_deployment():
    fresh = job()
    events = fresh.submitted(provider_job(JobStatus.SUCCEEDED, fine_tuned_model="ft:m"), T0, needs_deployment=True)
    assert [e.status for e in events] == [JobStatus.SUBMITTED] and fresh.phase.value == "deploying"


def test_a_fallback_note_names_both_providers_and_models():
    from distillery_finetune_controller.domain.lifecycle import Refusal

    moved = job()
    note = moved.fall_back("selfhosted", "smollm2-135m", Refusal(code="retired", message="gone", reason="shut down"),
                           T0 + timedelta(hours=1))
    assert (note.event_id, note.created_at, note.level, note.type) == (
        "fallback-from-openai", T0 + timedelta(hours=1), "warning", "fallback")
    assert note.data == {"refusal": "retired", "from_provider": "openai", "from_model": "gpt-4o-mini",
                         "to_provider": "selfhosted", "to_model": "smollm2-135m"}
    assert (moved.provider, moved.base_model, moved.next_check_at) == ("selfhosted", "smollm2-135m",
                                                                       T0 + timedelta(hours=1))


@pytest.mark.parametrize(("interval", "changed", "after"), [
    (0.0, False, 10.0),  # the first poll after submission waits the base interval
    (10.0, True, 10.0),  # a change starts over from the base
    (10.0, False, 15.0),  # an unchanged job is polled half as often again
    (100.0, False, 120.0),  # up to the ceiling
])
def test_an_unchanged_job_is_polled_less_and_less_often(interval, changed, after):
    tracked = job(check_interval_s=interval, failures=3)
    tracked.schedule_poll(T0, base_s=10.0, ceiling_s=120.0, changed=changed)
    assert (tracked.check_interval_s, tracked.next_check_at, tracked.failures) == (
        after, T0 + timedelta(seconds=after), 0)

"""The contracts every job store and model store keeps, written once for all of them.

The fakes run them here (test_job_store_contract.py, test_model_store_contract.py) and the
SQL stores run them against PostgreSQL (tests/integration/test_finetune_store_contracts.py):
each subclasses a contract and provides its ``jobs`` or ``registry`` fixture. A fake that
drifts from its SQL twin fails here instead of letting unit tests pass on behaviour
production lacks.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from distillery_contracts.finetune import Hyperparameters, JobError, JobMetrics, JobStatus, PublishedDates
from distillery_finetune_controller.domain.job import FileRef, Job, Phase
from distillery_finetune_controller.domain.provider_types import ProviderCheckpoint, ProviderEvent
from distillery_finetune_controller.domain.registry import ModelStatus, RegisteredModel, StatusChange
from distillery_runtime.fencing import LostLease

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ACCOUNT = "openai:test"


def new_job(job_id: str, created: datetime = T0, **fields: Any) -> Job:
    ref = FileRef("file:///data/train.jsonl", "ab" * 32, 100)
    fields.setdefault("next_check_at", created)
    return Job(job_id=job_id, provider="openai", dataset_id=job_id.removeprefix("job-"), dataset_version=1,
               cycle_id="cycle-1", base_model="gpt-4o-mini-2024-07-18", train=ref, validation=ref,
               hyperparameters=Hyperparameters(n_epochs=3, batch_size="auto"), suffix="distillery", seed=7,
               created_at=created, cause={"event_id": "ds:v1"}, **fields)


class JobStoreContract:
    """The tests; a subclass named ``Test…`` provides the ``jobs`` fixture under test."""

    async def test_a_job_round_trips_with_every_field(self, jobs):
        job = new_job("job-a", phase=Phase.TRACKING, status=JobStatus.RUNNING, provider_job_id="ftjob-1",
                      error=JobError(code="x", message="y"), metrics=JobMetrics(step=3, train_loss=0.5),
                      intent_at=T0, attempted_at=T0 + timedelta(minutes=1), create_attempts=1,
                      check_interval_s=1.5, last_event_id="ev-9",
                      base_model_dates=PublishedDates(source="Azure model deprecation", shutdown=date(2027, 6, 1)))
        assert await jobs.add(job, ACCOUNT)
        assert not await jobs.add(job, ACCOUNT)

        loaded = await jobs.get("job-a")
        assert dataclasses.replace(loaded, updated_at=None) == dataclasses.replace(job, updated_at=None)
        assert await jobs.get("job-nope") is None

    async def test_only_the_newest_fencing_token_of_a_name_holds(self, jobs):
        first = await jobs.take_lead("worker")
        await jobs.hold_lead("worker", first)
        second = await jobs.take_lead("worker")
        assert second > first
        await jobs.hold_lead("worker", second)
        with pytest.raises(LostLease):
            await jobs.hold_lead("worker", first)
        with pytest.raises(LostLease):
            await jobs.hold_lead("another", first)  # never taken

    async def test_due_jobs_are_unfinished_ones_whose_check_time_came_or_that_must_be_cancelled(self, jobs):
        await jobs.add(new_job("job-a", T0), ACCOUNT)
        await jobs.add(new_job("job-b", T0 + timedelta(seconds=1), next_check_at=T0 + timedelta(hours=1)),
                              ACCOUNT)
        await jobs.add(new_job("job-c", T0 + timedelta(seconds=2), phase=Phase.DONE), ACCOUNT)
        await jobs.add(new_job("job-d", T0 + timedelta(seconds=3)), "azure:other")

        assert [j.job_id for j in await jobs.due(ACCOUNT, T0)] == ["job-a"]
        await jobs.request_cancel("job-b", "operator")
        assert [j.job_id for j in await jobs.due(ACCOUNT, T0)] == ["job-a", "job-b"]
        assert await jobs.resume_all(ACCOUNT, T0) == 2

    async def test_a_job_moved_to_another_account_is_due_and_counted_there(self, jobs):
        await jobs.add(new_job("job-a", phase=Phase.WAITING), ACCOUNT)
        await jobs.move("job-a", "selfhosted:trainer")
        job = await jobs.get("job-a")
        job.phase = Phase.UPLOADING
        await jobs.save(job)

        assert await jobs.due(ACCOUNT, T0) == []
        assert [j.job_id for j in await jobs.due("selfhosted:trainer", T0)] == ["job-a"]
        assert (await jobs.count_active(ACCOUNT), await jobs.count_active("selfhosted:trainer")) == (0, 1)

    async def test_saving_a_stale_copy_keeps_the_cancel_request(self, jobs):
        await jobs.add(new_job("job-a"), ACCOUNT)
        stale = await jobs.get("job-a")
        await jobs.request_cancel("job-a", "operator")
        stale.phase = Phase.UPLOADING
        await jobs.save(stale)

        saved = await jobs.get("job-a")
        assert (saved.phase, saved.cancel_requested, saved.cancel_reason) == (Phase.UPLOADING, True, "operator")

    async def test_active_jobs_are_counted_and_provider_ids_known_per_account(self, jobs):
        for name, phase, pid in (("job-a", Phase.WAITING, None), ("job-b", Phase.UPLOADING, None),
                                 ("job-c", Phase.TRACKING, "ftjob-c"), ("job-d", Phase.DEPLOYING, "ftjob-d"),
                                 ("job-e", Phase.DONE, "ftjob-e")):
            await jobs.add(new_job(name, phase=phase, provider_job_id=pid), ACCOUNT)

        assert await jobs.count_active(ACCOUNT) == 2
        assert await jobs.provider_job_ids(ACCOUNT) == {"ftjob-c", "ftjob-d", "ftjob-e"}

    async def test_uploaded_files_are_found_by_hash_per_account(self, jobs):
        await jobs.remember_file(ACCOUNT, "ab" * 32, "file-1", "train.jsonl", 100, T0)
        await jobs.remember_file(ACCOUNT, "ab" * 32, "file-2", "train.jsonl", 100, T0)

        assert await jobs.find_file(ACCOUNT, "ab" * 32) == "file-2"
        assert await jobs.find_file("azure:other", "ab" * 32) is None

    async def test_history_events_and_checkpoints_are_kept_once_in_order(self, jobs):
        await jobs.add(new_job("job-a"), ACCOUNT)
        for status in (JobStatus.SUBMITTED, JobStatus.RUNNING, JobStatus.RUNNING):
            await jobs.record_status("job-a", status, T0)
        events = [ProviderEvent(f"ev-{n}", T0 + timedelta(seconds=n), "info", f"step {n}", "metrics", {"step": n})
                  for n in (1, 2)]
        checkpoint = ProviderCheckpoint("ck-1", T0, 10, "ft:ckpt-10", {"train_loss": 0.5})

        assert await jobs.add_events("job-a", events) == 2
        assert await jobs.add_events("job-a", events) == 0
        assert await jobs.add_checkpoints("job-a", [checkpoint]) == 1
        assert await jobs.add_checkpoints("job-a", [checkpoint]) == 0
        assert [s for s, _ in await jobs.history("job-a")] == [JobStatus.SUBMITTED, JobStatus.RUNNING]
        assert [e.event_id for e in await jobs.events("job-a")] == ["ev-1", "ev-2"]
        assert await jobs.checkpoints("job-a") == [checkpoint]

    async def test_jobs_are_listed_newest_first(self, jobs):
        for n in (1, 3, 2):
            await jobs.add(new_job(f"job-{n}", T0 + timedelta(minutes=n)), ACCOUNT)

        assert [j.job_id for j in await jobs.list_jobs(limit=2)] == ["job-3", "job-2"]
        assert await jobs.history("job-1") == [] and await jobs.events("job-1") == []


def model(name: str, status: ModelStatus, deployment: str | None = None, minutes: int = 0,
          provider: str = "azure") -> RegisteredModel:
    at = T0 + timedelta(minutes=minutes)
    return RegisteredModel(fine_tuned_model=name, job_id=f"job-{name}", dataset_id="ds", cycle_id=None,
                           base_model="gpt-4o-mini", provider=provider, provider_job_id=None,
                           deployment_name=deployment, trained_tokens=10, metrics=JobMetrics(step=1),
                           status=status, registered_at=at, status_changed_at=at)


class ModelStoreContract:
    """The tests; a subclass named ``Test…`` provides the ``registry`` fixture under test."""

    async def test_the_registry_finds_models_by_id_or_deployment_and_applies_changes(self, registry):
        assert await registry.register(model("m-new", ModelStatus.CANDIDATE, "dep-new"))
        assert not await registry.register(model("m-new", ModelStatus.CANDIDATE, "dep-new"))
        await registry.register(model("m-prod", ModelStatus.PRODUCTION))
        await registry.register(model("m-old", ModelStatus.RETIRED))

        assert {m.fine_tuned_model for m in await registry.concerned(["dep-new"])} == {"m-new", "m-prod"}
        await registry.apply(StatusChange("m-new", ModelStatus.IN_ROLLOUT, "ro-1"), T0 + timedelta(hours=1))
        [moved] = await registry.list_models(ModelStatus.IN_ROLLOUT)
        assert (moved.fine_tuned_model, moved.rollout_id, moved.status_changed_at) == (
            "m-new", "ro-1", T0 + timedelta(hours=1))

    async def test_a_model_round_trips_and_the_registry_lists_the_newest_first(self, registry):
        registered = [model("m-1", ModelStatus.RETIRED, minutes=1), model("m-3", ModelStatus.CANDIDATE, "dep-3", 3),
                      model("m-2", ModelStatus.PRODUCTION, minutes=2)]
        for entry in registered:
            await registry.register(entry)

        assert [m.fine_tuned_model for m in await registry.list_models()] == ["m-3", "m-2", "m-1"]
        assert await registry.list_models(ModelStatus.CANDIDATE) == [registered[1]]

    async def test_a_retired_deployment_is_due_for_release_from_its_time_and_only_once(self, registry):
        later = T0 + timedelta(minutes=1)
        for name, deployment, provider in (("m-a", "m-a", "selfhosted"), ("m-b", None, "selfhosted"),
                                           ("m-c", "dep-c", "azure")):
            await registry.register(model(name, ModelStatus.IN_ROLLOUT, deployment, provider=provider))
            await registry.apply(StatusChange(name, ModelStatus.RETIRED, "ro-1", undeploy_at=later), T0)

        assert await registry.undeploy_due("selfhosted", T0) == []
        [due] = await registry.undeploy_due("selfhosted", later)  # m-b has nothing to release
        assert (due.fine_tuned_model, due.undeploy_due_at) == ("m-a", later)
        assert [m.fine_tuned_model for m in await registry.undeploy_due("azure", later)] == ["m-c"]

        await registry.save_undeploy(due.undeploy_failed(later, 5, 600, None))
        assert await registry.undeploy_due("selfhosted", later + timedelta(seconds=4)) == []
        [retried] = await registry.undeploy_due("selfhosted", later + timedelta(seconds=5))
        assert (retried.undeploy_failures, retried.undeploy_due_at) == (1, later + timedelta(seconds=5))
        await registry.save_undeploy(retried.undeploy_done(later, released=True))
        assert await registry.undeploy_due("selfhosted", later + timedelta(days=1)) == []
        [released] = [m for m in await registry.list_models() if m.fine_tuned_model == "m-a"]
        assert (released.undeployed_at, released.undeploy_failures) == (later, 0)

        # Retired again later: a released deployment is not released twice.
        await registry.apply(StatusChange("m-a", ModelStatus.RETIRED, "ro-2", undeploy_at=later), later)
        assert await registry.undeploy_due("selfhosted", later + timedelta(days=1)) == []

    async def test_a_model_back_in_use_calls_off_its_release_even_against_a_worker_that_read_it(self, registry):
        later = T0 + timedelta(minutes=1)
        await registry.register(model("m-a", ModelStatus.IN_ROLLOUT, "m-a", provider="selfhosted"))
        await registry.apply(StatusChange("m-a", ModelStatus.RETIRED, "ro-1", undeploy_at=later), T0)
        [read] = await registry.undeploy_due("selfhosted", later)
        await registry.apply(StatusChange("m-a", ModelStatus.IN_ROLLOUT, "ro-2"), later)
        await registry.save_undeploy(read.undeploy_failed(later, 5, 600, None))  # the worker's stale write

        assert await registry.undeploy_due("selfhosted", later + timedelta(days=1)) == []
        [back] = await registry.list_models()
        assert (back.status, back.undeploy_due_at, back.undeploy_failures) == (ModelStatus.IN_ROLLOUT, None, 0)

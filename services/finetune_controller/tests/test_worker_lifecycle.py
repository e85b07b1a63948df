"""A job from dataset to trained (and on Azure, deployed) model, with fakes."""

from __future__ import annotations

from datetime import date

from finetune_support import BASE

from distillery_contracts.finetune import JobStatus, PublishedDates
from distillery_contracts.registry import FINETUNE_JOBS
from distillery_finetune_controller.domain.job import Phase
from distillery_finetune_controller.domain.registry import ModelStatus
from distillery_finetune_controller.services import resume

S = JobStatus


async def test_dataset_is_uploaded_and_trained_with_its_lineage_in_the_job_metadata(world):
    await world.deliver(world.dataset("ds-0001"))
    await world.run()

    assert world.provider.calls[:4] == ["model gpt-4o-mini-2024-07-18", "upload ds-0001-train.jsonl",
                                        "upload ds-0001-validation.jsonl", "get_file file-1"]
    request = world.provider.requests[world.provider_job()]
    assert request.metadata() == {"distillery_job_id": "job-ds-0001", "dataset_id": "ds-0001",
                                  "cycle_id": "cycle-ds-0001"}
    assert request.hyperparameters.n_epochs == 2  # the dataset's epochs
    assert request.suffix == "distillery"
    assert world.statuses() == [S.SUBMITTED, S.VALIDATING]


async def test_each_state_is_published_once_in_order_and_the_model_registered(world):
    await world.deliver(world.dataset("ds-0001"))
    await world.run()
    pid = world.provider_job()
    for status in ("validating_files", "queued", "queued", "running", "running"):
        world.provider.advance(pid, status)
        await world.run()
    world.provider.add_checkpoint(pid, 30, train_loss=0.4, valid_loss=0.9, full_valid_loss=0.5,
                                  train_mean_token_accuracy=0.9, full_valid_mean_token_accuracy=0.85)
    world.provider.advance(pid, "succeeded", fine_tuned_model="ft:gpt-4o-mini:acme:distillery:abc",
                           trained_tokens=1234)
    await world.run()

    assert world.statuses() == [S.SUBMITTED, S.VALIDATING, S.QUEUED, S.RUNNING, S.SUCCEEDED]
    done = world.published()[-1]
    assert done.fine_tuned_model == "ft:gpt-4o-mini:acme:distillery:abc"
    assert done.trained_tokens == 1234
    assert (done.metrics.step, done.metrics.valid_loss, done.metrics.valid_token_accuracy) == (30, 0.5, 0.85)
    assert all(m.topic == FINETUNE_JOBS and m.key == "ds-0001" for m in world.uow.committed)
    assert all(m.envelope.correlation_id == "cycle-ds-0001" for m in world.uow.committed)
    assert all(m.envelope.causation_id == "ds-0001:v7" for m in world.uow.committed)
    [model] = await world.registry.list_models()
    assert (model.status, model.job_id, model.dataset_id) == (ModelStatus.CANDIDATE, "job-ds-0001", "ds-0001")
    assert (await world.job()).phase is Phase.DONE


async def test_provider_events_and_metrics_are_stored_without_duplicates(world):
    await world.deliver(world.dataset("ds-0001"))
    await world.run()
    pid = world.provider_job()
    world.provider.add_event(pid, "Step 10/30: training loss=1.2", {"step": 10, "train_loss": 1.2})
    await world.run()
    world.provider.add_event(pid, "Step 20/30: training loss=0.8", {"step": 20, "train_loss": 0.8,
                                                                    "train_mean_token_accuracy": 0.7})
    await world.run(ticks=2)

    stored = await world.jobs.events("job-ds-0001")
    assert [e.message for e in stored] == ["Step 10/30: training loss=1.2", "Step 20/30: training loss=0.8"]
    job = await world.job()
    assert (job.metrics.step, job.metrics.train_loss, job.metrics.train_token_accuracy) == (20, 0.8, 0.7)


async def test_azure_announces_success_only_once_the_model_is_deployed(azure_world):
    w = azure_world
    await w.deliver(w.dataset("ds-0001"))
    await w.run()
    pid = w.provider_job()
    w.provider.advance(pid, "running")
    await w.run()
    w.provider.advance(pid, "succeeded", fine_tuned_model="gpt-4o-mini-2024-07-18.ft-abc")
    await w.run()

    assert w.statuses() == [S.SUBMITTED, S.QUEUED, S.RUNNING]
    assert w.provider.deployments["distillery-ds-0001"].model == "gpt-4o-mini-2024-07-18.ft-abc"
    assert (await w.job()).phase is Phase.DEPLOYING

    w.provider.deployments["distillery-ds-0001"] = w.provider.deployments["distillery-ds-0001"].__class__(
        "distillery-ds-0001", "Succeeded", model="gpt-4o-mini-2024-07-18.ft-abc")
    await w.run()

    assert w.statuses() == [S.SUBMITTED, S.QUEUED, S.RUNNING, S.SUCCEEDED]
    assert w.published()[-1].deployment_name == "distillery-ds-0001"
    [model] = await w.registry.list_models()
    assert model.deployment_name == "distillery-ds-0001"


async def test_every_event_of_a_job_carries_the_dates_azure_publishes_for_its_base_model(azure_world):
    """What the console warns an Azure arm by: the guard read them once, before the upload."""
    w = azure_world
    await w.deliver(w.dataset("ds-0001"))
    await w.run()
    w.provider.advance(w.provider_job(), "running")
    await w.run()

    dates = PublishedDates(source="fake provider", fine_tune_until=date(2027, 3, 1), shutdown=date(2027, 6, 1))
    assert [(e.status, e.base_model_dates) for e in w.published()] == [
        (S.SUBMITTED, dates), (S.QUEUED, dates), (S.RUNNING, dates)]
    assert (await w.job()).base_model_dates == dates  # kept with the job across restarts


async def test_a_provider_that_publishes_no_dates_leaves_them_out(world):
    world.provider.offer(BASE)  # offered, no dates
    await world.deliver(world.dataset("ds-0001"))
    await world.run()
    assert [e.base_model_dates for e in world.published()] == [None, None]


async def test_azure_waits_for_its_files_to_be_processed_before_creating_the_job(azure_world):
    from distillery_finetune_controller.domain.provider_types import FileState

    w = azure_world
    w.provider.upload_state = FileState.PROCESSING
    await w.deliver(w.dataset("ds-0001"))
    await w.run()
    assert w.provider.created_jobs() == []

    for file_id, file in list(w.provider.files.items()):
        w.provider.files[file_id] = file.__class__(file_id, FileState.READY)
    await w.run()
    assert w.provider.created_jobs() == ["create job-ds-0001"]


async def test_an_identical_file_uploaded_before_is_reused(world):
    await world.deliver(world.dataset("ds-0001", content_seed="same"))
    await world.deliver(world.dataset("ds-0002", content_seed="same"))
    await world.run()

    uploads = [c for c in world.provider.calls if c.startswith("upload")]
    assert uploads == ["upload ds-0001-train.jsonl", "upload ds-0001-validation.jsonl"]
    first, second = (world.provider.requests[world.provider_job(j)] for j in ("job-ds-0001", "job-ds-0002"))
    assert (first.training_file, first.validation_file) == (second.training_file, second.validation_file)


async def test_the_same_dataset_delivered_twice_makes_one_job(world):
    dataset = world.dataset("ds-0001")
    await world.deliver(dataset)
    await world.deliver(dataset)
    await world.run(ticks=2)

    assert world.provider.created_jobs() == ["create job-ds-0001"]


async def test_no_more_jobs_run_at_once_than_the_account_allows(azure_world):
    w = azure_world  # Azure: one job at a time by default
    await w.deliver(w.dataset("ds-0001"))
    await w.deliver(w.dataset("ds-0002"))
    await w.run(ticks=2)
    assert w.provider.created_jobs() == ["create job-ds-0001"]
    assert (await w.job("job-ds-0002")).phase is Phase.WAITING
    assert not [c for c in w.provider.calls if "ds-0002" in c]

    w.provider.advance(w.provider_job("job-ds-0001"), "failed")
    await w.run(ticks=2)
    assert w.provider.created_jobs() == ["create job-ds-0001", "create job-ds-0002"]


async def test_a_restarted_worker_resumes_unfinished_jobs_at_once(world):
    await world.deliver(world.dataset("ds-0001"))
    await world.run(step_s=0)
    job = await world.job()
    assert job.next_check_at > world.clock()

    resumed = await resume(world.context)
    await world.run(step_s=0)

    assert resumed == 1
    assert world.provider.calls.count(f"get_job {world.provider_job()}") == 1

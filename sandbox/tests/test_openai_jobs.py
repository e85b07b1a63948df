"""Fine-tuning jobs move along on the clock, one account's slots at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from distillery_sandbox.openai import (
    FakeClock,
    JobTimings,
    LatencyProfile,
    SandboxConfig,
    default_catalogue,
    simulated_training_file,
)
from distillery_sandbox.openai.account import Account
from distillery_sandbox.openai.errors import ApiError
from distillery_sandbox.workload import WorkloadConfig

TRAINING = simulated_training_file(WorkloadConfig(seed=3, calls=12))
TIMINGS = JobTimings(validating=1, queued=1, running=10, file_processing=0.5, deployment=2)


@pytest.fixture(scope="module")
def executor():
    with ThreadPoolExecutor(2) as pool:
        yield pool


def make_account(executor, flavour: str = "openai", **settings) -> tuple[Account, FakeClock]:
    clock = FakeClock()
    settings.setdefault("models", default_catalogue())  # the real deadlines, which these tests are about
    config = SandboxConfig(clock=clock, timings=TIMINGS, latency=LatencyProfile(scale=0),
                           **settings)
    return Account(flavour, config, executor), clock


def start_job(account: Account, content: bytes = TRAINING, **fields):
    upload = account.upload_file("train.jsonl", "fine-tune", content)
    job = account.create_job({"model": "gpt-4o-mini", "training_file": upload.id, **fields})
    account.settle(30)
    return job


def status_at(account: Account, clock: FakeClock, job_id: str, seconds: float) -> str:
    clock.advance(seconds)
    return account.job(job_id).status


def test_a_job_goes_from_validating_to_queued_to_running_to_succeeded(executor):
    account, clock = make_account(executor)
    job = start_job(account, metadata={"dataset_id": "ds-1"})
    assert job.status == "validating_files"
    assert [status_at(account, clock, job.id, s) for s in (1.0, 1.0, 5.0, 5.0)] == [
        "queued", "running", "running", "succeeded"]
    done = account.job(job.id)
    assert done.fine_tuned_model == f"ft:gpt-4o-mini-2024-07-18:distillery::{job.id[-8:]}"
    assert done.trained_tokens and done.result_files
    assert done.finished_at == pytest.approx(job.created_at + 12)
    assert account.registry.get(done.fine_tuned_model).shutdown_date == date(2027, 1, 14)


def test_events_carry_the_time_they_happened_not_the_time_they_were_read(executor):
    account, clock = make_account(executor)
    job = start_job(account)
    clock.advance(3600)
    events = account.job(job.id).events
    times = [event.created_at for event in events]
    assert times == sorted(times)
    assert times[-1] == pytest.approx(job.created_at + 12)
    losses = [e.data["train_loss"] for e in events if e.type == "metrics"]
    assert len(losses) > 5 and losses[-1] < losses[0]
    assert [c.step_number for c in account.job(job.id).checkpoints] == sorted(
        c.step_number for c in account.job(job.id).checkpoints)


def test_azure_trains_one_job_at_a_time_and_queues_the_next(executor):
    account, clock = make_account(executor, "azure")
    first, second = start_job(account), start_job(account)
    assert (first.status, second.status) == ("created", "created")  # files still importing
    clock.advance(3)
    assert (account.job(first.id).status, account.job(second.id).status) == ("running", "queued")
    assert "Waiting for jobs ahead" in account.job(second.id).events[-1].message
    clock.advance(10)
    assert (account.job(first.id).status, account.job(second.id).status) == ("succeeded", "running")
    assert account.job(second.id).started_at == pytest.approx(account.job(first.id).finished_at)


def test_cancelling_a_running_job_frees_its_slot_at_once(executor):
    account, clock = make_account(executor, "azure")
    first, second = start_job(account), start_job(account)
    clock.advance(4)
    account.jobs.cancel(first.id, clock.now())
    clock.advance(0.01)
    assert (account.job(first.id).status, account.job(second.id).status) == ("cancelled", "running")
    with pytest.raises(ApiError, match="already cancelled"):
        account.jobs.cancel(first.id, clock.now())


def test_a_paused_job_finishes_late_by_the_time_it_spent_paused(executor):
    account, clock = make_account(executor)
    job = start_job(account)
    clock.advance(5)
    account.jobs.pause(job.id, clock.now())
    assert status_at(account, clock, job.id, 100) == "paused"
    account.jobs.resume(job.id, clock.now())
    assert status_at(account, clock, job.id, 6.9) == "running"
    assert status_at(account, clock, job.id, 0.2) == "succeeded"


def test_a_malformed_training_file_fails_the_job_naming_the_line(executor):
    account, clock = make_account(executor)
    lines = TRAINING.decode().splitlines()
    lines[4] = '{"messages": [{"role": "user", "content": "hi"}'
    job = start_job(account, "\n".join(lines).encode())
    assert status_at(account, clock, job.id, 1.0) == "failed"
    error = account.job(job.id).error
    assert error.code == "invalid_training_file" and error.param == "training_file"
    assert "Line 5: not valid JSON" in error.message
    assert account.job(job.id).events[-1].level == "error"


def test_no_new_job_is_accepted_after_the_fine_tuning_window_closes(executor):
    open_account, _ = make_account(executor, today=date(2027, 1, 6))
    assert start_job(open_account).status == "validating_files"
    closed, _ = make_account(executor, today=date(2027, 1, 7))
    with pytest.raises(ApiError, match="accepted until 2027-01-06") as refused:
        start_job(closed)
    assert refused.value.status == 400 and refused.value.param == "model"


def test_a_fine_tune_stops_answering_on_its_base_models_shutdown_day(executor):
    account, clock = make_account(executor)
    job = start_job(account)
    clock.advance(20)
    model = account.job(job.id).fine_tuned_model
    assert account.brain(model).kind == "student"
    account.config.today = date(2027, 1, 14)
    with pytest.raises(ApiError, match="shut down on 2027-01-14") as refused:
        account.brain(model)
    assert refused.value.status == 404


def test_jobs_are_found_again_by_their_metadata(executor):
    account, _ = make_account(executor)
    mine = start_job(account, metadata={"dataset_id": "ds-7", "cycle_id": "c-2"})
    start_job(account, metadata={"dataset_id": "ds-8"})
    bare = start_job(account)
    assert [j.id for j in account.list_jobs({"dataset_id": "ds-7"})] == [mine.id]
    assert [j.id for j in account.list_jobs("null")] == [bare.id]
    assert len(account.list_jobs(None)) == 3


@pytest.mark.parametrize(("fields", "message"), [
    ({"suffix": "x" * 65}, "maximum is 64"),
    ({"metadata": {"dataset_id": 7}}, "values strings"),
    ({"method": {"type": "dpo"}}, "'dpo' is not simulated"),
    ({"hyperparameters": {"n_epochs": 0}}, "n_epochs must be an integer from 1 to 50"),
    ({"training_file": "file-missing"}, "invalid training_file: file-missing"),
])
def test_a_bad_job_request_is_refused_before_any_job_exists(executor, fields, message):
    account, _ = make_account(executor)
    upload = account.upload_file("train.jsonl", "fine-tune", TRAINING)
    with pytest.raises(ApiError, match=message):
        account.create_job({"model": "gpt-4o-mini", "training_file": upload.id, **fields})
    assert account.jobs.jobs == {}


@pytest.mark.parametrize("settings", [
    lambda: JobTimings(queued=-0.1),
    lambda: LatencyProfile(spread=-0.1),
])
def test_a_negative_timing_or_latency_is_refused_by_name(settings):
    with pytest.raises(ValueError, match=r"(queued|spread) must not be negative, got -0.1"):
        settings()


def test_zero_timings_and_latencies_are_allowed():
    assert JobTimings(validating=0, queued=0, running=0).of("running") == 0
    assert LatencyProfile(scale=0).median_seconds("teacher") == 0

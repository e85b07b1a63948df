"""The training worker: a job trains once, reports progress, publishes one adapter, honours
cancel, resumes after a crash, and ends failed with one line when it cannot train."""

from __future__ import annotations

import asyncio
import threading

import pytest
from trainer_fixtures import GOOD_LINE, StillHeld, jsonl

from distillery_students.domain.check import DataCheck
from distillery_students.domain.settings import TrainingSettings
from distillery_students.errors import StudentError
from distillery_trainer.domain.job import Status
from distillery_trainer.domain.openai_api import CreateJob


async def new_job(trainer, model: str = "clinic-base") -> str:
    file = await trainer.upload_file("train.jsonl", jsonl(GOOD_LINE, GOOD_LINE), "fine-tune")
    return (await trainer.create_job(CreateJob(model=model, training_file=file.file_id, suffix="clinic"))).job_id


async def asked_to_stop(runner) -> None:
    """Until the trainer tells the running training to stop (it looks every flush)."""
    for _ in range(500):
        if runner.runs and runner.runs[0].should_cancel():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the trainer never asked the training to stop")


def messages(store, job_id: str) -> list[str]:
    return [e.message for e in store.event_rows[job_id]]


async def test_a_job_trains_reports_each_step_and_publishes_its_adapter_once(trainer, store, runner, tmp_path):
    job_id = await new_job(trainer)
    await trainer.run_job(job_id, StillHeld())
    job = store.job_rows[job_id]
    assert job.status is Status.SUCCEEDED and job.attempts == 1
    assert job.fine_tuned_model == f"ft:clinic-base:clinic:{job_id}"
    published = tmp_path / "blobs" / "adapters" / job_id
    assert job.adapter is not None and job.adapter.uri == published.as_uri()
    assert (published / "adapter_model.safetensors").is_file() and (published / "SHA256SUMS").is_file()
    assert job.adapter.sha256 in (published / "SHA256SUMS").read_text()
    steps = [e for e in store.event_rows[job_id] if e.type == "metrics"]
    assert [e.data["step"] for e in steps] == [1, 2, 3, 4]
    assert steps[-1].message == "Step 4/4: training loss=0.2500"
    assert sorted(store.checkpoint_rows[job_id]) == [2, 4]
    assert messages(store, job_id)[-2:] == [f"New fine-tuned model created: {job.fine_tuned_model}",
                                           "The job has successfully completed"]
    assert runner.runs[0].settings.base_model == "/models/clinic-base"
    assert not (tmp_path / "work" / job_id).exists()

    await trainer.run_job(job_id, StillHeld())  # a second look at a finished job changes nothing
    assert len(runner.runs) == 1


async def test_what_the_run_read_is_an_event_and_a_cut_answer_a_warning(trainer, store, runner):
    settings = TrainingSettings(base_model="/models/clinic-base", max_length=2048)
    runner.data_check = DataCheck(
        settings=settings, lines=[1, 2, 3], lengths=[900, 2100, 2300], cut_lines=[2, 3], partial_lines=[2],
        unusable_lines=[3], length_keeping_answers=2300, tokens_per_epoch=2948, learned_per_epoch=120,
        steps_per_epoch=1, steps=3)
    job_id = await new_job(trainer)
    await trainer.run_job(job_id, StillHeld())

    read = [e for e in store.event_rows[job_id] if e.data and "tokens_per_epoch" in e.data]
    assert [(e.level, e.message) for e in read] == [("info", runner.data_check.summary())]
    assert read[0].data["answers_cut"] == 1 and read[0].data["skipped"] == 1
    warnings = [e.message for e in store.event_rows[job_id] if e.level == "warn"]
    assert warnings == ["max_length 2,048 cuts a taught answer in 1 example(s) and everything learned from 1 "
                        "(skipped): max_length 2,300 keeps every answer whole"]
    first_step = next(i for i, e in enumerate(store.event_rows[job_id]) if e.type == "metrics")
    assert store.event_rows[job_id].index(read[0]) < first_step  # said before training starts


async def test_a_run_whose_cut_takes_nothing_learned_says_no_warning(trainer, store, runner):
    runner.data_check = DataCheck(
        settings=TrainingSettings(base_model="/models/clinic-base"), lines=[1], lengths=[900], cut_lines=[],
        partial_lines=[], unusable_lines=[], length_keeping_answers=0, tokens_per_epoch=900, learned_per_epoch=40,
        steps_per_epoch=1, steps=3)
    job_id = await new_job(trainer)
    await trainer.run_job(job_id, StillHeld())
    assert not [e for e in store.event_rows[job_id] if e.level == "warn"]
    assert runner.data_check.summary() in messages(store, job_id)


async def test_a_base_model_that_does_not_exist_fails_the_job_with_one_line(trainer, store, runner):
    runner.missing.add("/models/clinic-base")
    job_id = await new_job(trainer)
    await trainer.run_job(job_id, StillHeld())
    job = store.job_rows[job_id]
    assert job.status is Status.FAILED and runner.runs == []
    assert job.error == {"code": "invalid_base_model", "param": None,
                         "message": "base model /models/clinic-base does not exist: give a local checkpoint directory"}


async def test_cancel_stops_a_running_job_and_nothing_is_published(trainer, store, runner, tmp_path):
    runner.gate = threading.Semaphore(0)
    job_id = await new_job(trainer)
    running = asyncio.create_task(trainer.run_job(job_id, StillHeld()))
    runner.gate.release()  # step 1
    while store.job_rows[job_id].status is not Status.RUNNING or not store.checkpoint_rows.get(job_id, {}) and \
            not any(e.type == "metrics" for e in store.event_rows[job_id]):
        await asyncio.sleep(0.01)
    assert (await trainer.cancel_job(job_id)).status is Status.RUNNING
    await asked_to_stop(runner)
    for _ in range(3):
        runner.gate.release()
    await asyncio.wait_for(running, 5)
    assert store.job_rows[job_id].status is Status.CANCELLED
    assert not (tmp_path / "blobs" / "adapters" / job_id).exists()


async def test_a_run_that_dies_unexpectedly_is_queued_again_then_fails_after_max_attempts(trainer, store, runner):
    runner.fail_with = RuntimeError("CUDA error: an illegal memory access was encountered")
    job_id = await new_job(trainer)
    await trainer.run_job(job_id, StillHeld())
    assert store.job_rows[job_id].status is Status.QUEUED
    assert "Run 1 ended unexpectedly (RuntimeError: CUDA error" in messages(store, job_id)[-1]
    await trainer.run_job(job_id, StillHeld())
    await trainer.run_job(job_id, StillHeld())
    job = store.job_rows[job_id]
    assert job.status is Status.FAILED and job.error["code"] == "too_many_attempts" and len(runner.runs) == 2


async def test_a_job_left_running_by_a_killed_trainer_resumes_from_its_checkpoint(trainer, store, runner, tmp_path):
    job_id = await new_job(trainer)
    store.job_rows[job_id].status = Status.RUNNING  # as a trainer killed mid-run left it
    store.job_rows[job_id].attempts = 1
    marker = tmp_path / "work" / job_id / "last-step"
    marker.parent.mkdir(parents=True)
    marker.write_text("2")
    await trainer.run_job(job_id, StillHeld())
    job = store.job_rows[job_id]
    assert job.status is Status.SUCCEEDED and job.attempts == 2
    assert runner.resumed_from == {str(tmp_path / "work" / job_id / "adapter"): 2}
    assert "Fine-tuning job resumed (run 2 of at most 2)" in messages(store, job_id)


async def test_a_trainer_that_loses_its_lock_stops_without_touching_the_job(trainer, store, runner):
    runner.gate = threading.Semaphore(0)
    job_id = await new_job(trainer)
    held = StillHeld()
    running = asyncio.create_task(trainer.run_job(job_id, held))
    runner.gate.release()
    while not any(e.type == "metrics" for e in store.event_rows[job_id]):
        await asyncio.sleep(0.01)
    held.lost = True
    await asked_to_stop(runner)
    for _ in range(3):
        runner.gate.release()
    await asyncio.wait_for(running, 5)
    assert store.job_rows[job_id].status is Status.RUNNING  # the next holder resumes it


async def test_a_dataset_the_trainer_cannot_use_fails_the_job(trainer, store, runner):
    runner.fail_with = StudentError("train.jsonl: no example keeps a learned token within max_length 16")
    job_id = await new_job(trainer)
    await trainer.run_job(job_id, StillHeld())
    job = store.job_rows[job_id]
    assert job.status is Status.FAILED and job.error["message"].startswith("train.jsonl: no example keeps")


@pytest.mark.parametrize("status", [Status.VALIDATING_FILES, Status.QUEUED])
async def test_a_waiting_job_cancelled_before_a_trainer_takes_it_never_trains(trainer, store, runner, status):
    job_id = await new_job(trainer)
    store.job_rows[job_id].status = status
    await trainer.cancel_job(job_id)
    await trainer.run_job(job_id, StillHeld())
    assert store.job_rows[job_id].status is Status.CANCELLED and runner.runs == []

"""With a snapshot file the sandbox comes back after a restart with everything it knew."""

from __future__ import annotations

import io
import time

import openai

from distillery_sandbox.openai import (
    JobTimings,
    LatencyProfile,
    SandboxConfig,
    run_in_thread,
    simulated_training_file,
)
from distillery_sandbox.workload import WorkloadConfig

TRAINING = simulated_training_file(WorkloadConfig(seed=9, calls=25))
QUESTIONS = ["How much is a skin check?", "When are you open on Friday?", "Do you take VHI?"]


def config(path) -> SandboxConfig:
    return SandboxConfig(snapshot_path=path, latency=LatencyProfile(scale=0),
                         timings=JobTimings(validating=0.05, queued=0.05, running=0.6))


def client(sandbox) -> openai.OpenAI:
    return openai.OpenAI(base_url=sandbox.openai_base_url, api_key="sk-sandbox", max_retries=0)


def answers(api: openai.OpenAI, model: str) -> list[str]:
    return [api.chat.completions.create(model=model, messages=[{"role": "user", "content": q}])
            .choices[0].message.content for q in QUESTIONS]


def wait_until_done(api: openai.OpenAI, job_id: str):
    deadline = time.monotonic() + 10
    job = api.fine_tuning.jobs.retrieve(job_id)
    while job.status != "succeeded":
        assert time.monotonic() < deadline and job.status != "failed", job.status
        time.sleep(0.05)
        job = api.fine_tuning.jobs.retrieve(job_id)
    return job


def test_files_jobs_and_trained_models_survive_a_restart(tmp_path):
    path = tmp_path / "sandbox-state.json"
    with run_in_thread(config(path)) as first:
        api = client(first)
        upload = api.files.create(file=("train.jsonl", io.BytesIO(TRAINING)), purpose="fine-tune")
        done = wait_until_done(api, api.fine_tuning.jobs.create(
            model="gpt-4o-mini", training_file=upload.id, metadata={"dataset_id": "ds-9"}).id)
        before = answers(api, done.fine_tuned_model)
        events = [e.id for e in api.fine_tuning.jobs.list_events(done.id, limit=100)]
        unfinished = api.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload.id)
    with run_in_thread(config(path)) as second:
        api = client(second)
        assert api.files.content(upload.id).content == TRAINING
        assert api.fine_tuning.jobs.retrieve(done.id).fine_tuned_model == done.fine_tuned_model
        assert [e.id for e in api.fine_tuning.jobs.list_events(done.id, limit=100)] == events
        assert [j.id for j in api.fine_tuning.jobs.list(metadata={"dataset_id": "ds-9"})] == [done.id]
        assert answers(api, done.fine_tuned_model) == before
        assert wait_until_done(api, unfinished.id).fine_tuned_model

"""The trainer as it runs: real processes, PostgreSQL, the broker and SmolLM2-135M.

- Killed mid-run, its job resumes from the last checkpoint on another trainer and
  publishes exactly one adapter.
- Two trainers share the work: two jobs train at the same time, each on one trainer, each
  once; a job cancelled while it trains stops and publishes nothing.

Jobs are tiny (16 examples of 128 tokens, a few steps): these tests are about the
service's guarantees; tests/integration/test_students_learning.py proves learning.
"""

from __future__ import annotations

import json
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
import pytest
from kafka_helpers import wait_until
from processes import service_env, start_process

from distillery_cli.localstack.procs import free_port
from distillery_students.base_models import resolve_base_model
from distillery_students.samples import teaching_lines

pytestmark = pytest.mark.integration

CACHE = Path(tempfile.gettempdir()) / "distillery-model-cache"
DEFAULTS = {"learning_rate": 1e-3, "batch_size": 4, "micro_batch_size": 4, "max_length": 128, "checkpoint_every": 2}
KEY = "sk-trainer-test"


@pytest.fixture(scope="module", autouse=True)
def converted_base_model() -> None:
    resolve_base_model("smollm2-135m", CACHE)  # once, before any trainer starts


class Trainers:
    def __init__(self, broker: Any, database_url: str, root: Path) -> None:
        self.broker, self.database_url, self.root = broker, database_url, root
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str) -> tuple[subprocess.Popen[bytes], openai.AsyncOpenAI]:
        port = free_port()
        env = service_env(
            self.broker.bootstrap, self.database_url, self.root / name, DISTILLERY_HTTP_PORT=str(port),
            DISTILLERY_SHUTDOWN_GRACE_S="2", DISTILLERY_TRAINER_API_KEY=KEY,
            DISTILLERY_TRAINER_BLOB_ROOT=str(self.root / "blobs"), DISTILLERY_TRAINER_WORK_DIR=str(self.root / "work"),
            DISTILLERY_TRAINER_MODEL_CACHE=str(CACHE), DISTILLERY_TRAINER_DEFAULTS=json.dumps(DEFAULTS),
            DISTILLERY_TRAINER_WORKER_INTERVAL_S="0.3", DISTILLERY_TRAINER_PROGRESS_FLUSH_S="0.3")
        process = start_process(["-m", "distillery_trainer"], env, self.root / f"{name}.log")
        self.running.append(process)
        return process, openai.AsyncOpenAI(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=5)

    def logs(self) -> str:
        return "\n".join(p.read_text()[-2000:] for p in sorted(self.root.glob("*.log")))


@contextmanager
def trainers(broker: Any, database_url: str, root: Path) -> Iterator[Trainers]:
    group = Trainers(broker, database_url, root)
    try:
        yield group
    finally:
        for process in group.running:
            if process.poll() is None:
                process.terminate()
        for process in group.running:
            process.wait(timeout=30)


async def ready(client: openai.AsyncOpenAI) -> openai.AsyncOpenAI:
    async def up() -> bool:
        try:
            return bool([m async for m in client.models.list()])
        except openai.APIConnectionError:
            return False

    await wait_until(up, timeout=60, interval=0.3)
    return client


async def new_job(client: openai.AsyncOpenAI, tmp_path: Path, steps: int, seed: int = 1) -> str:
    data = tmp_path / f"train-{seed}.jsonl"
    data.write_text("\n".join(teaching_lines(4 * steps, seed=seed)) + "\n")
    file = await client.files.create(file=data.open("rb"), purpose="fine-tune")
    assert file.status == "processed", file.status_details
    job = await client.fine_tuning.jobs.create(model="smollm2-135m", training_file=file.id, suffix="test",
                                               method={"type": "supervised", "supervised": {
                                                   "hyperparameters": {"n_epochs": 1}}})
    return job.id


async def status(client: openai.AsyncOpenAI, job_id: str) -> str:
    return (await client.fine_tuning.jobs.retrieve(job_id)).status


async def messages(client: openai.AsyncOpenAI, job_id: str) -> list[str]:
    return [e.message async for e in client.fine_tuning.jobs.list_events(job_id, limit=100)]


async def test_a_trainer_killed_mid_run_is_resumed_by_another_and_one_adapter_is_published(
        broker, database_url, tmp_path):
    with trainers(broker, database_url, tmp_path) as group:
        first, client = group.start("a")
        job_id = await new_job(await ready(client), tmp_path, steps=6)

        async def checkpointed() -> bool:
            return bool([c async for c in client.fine_tuning.jobs.checkpoints.list(job_id)])

        await wait_until(checkpointed, timeout=240, interval=0.3)
        first.send_signal(signal.SIGKILL)
        first.wait()
        _, other = group.start("b")
        await ready(other)

        async def succeeded() -> bool:
            return await status(other, job_id) in ("succeeded", "failed")

        await wait_until(succeeded, timeout=300, interval=0.5)
        job = await other.fine_tuning.jobs.retrieve(job_id)
        said = await messages(other, job_id)
    assert job.status == "succeeded", group.logs()
    assert sum("Fine-tuning job started" in m for m in said) == 1
    assert sum("Fine-tuning job resumed" in m for m in said) == 1
    assert any(m.startswith("24 examples read as smollm2-135m reads them: 24 to train on") for m in said)
    steps_after_resume = [m for m in said if m.startswith("Step 1/")]
    assert len(steps_after_resume) == 1, "the resumed run must not start again from step 1"
    adapters = list((tmp_path / "blobs" / "adapters").iterdir())
    assert [a.name for a in adapters] == [job_id]
    sums = (adapters[0] / "SHA256SUMS").read_text()
    assert f"{job.model_extra['adapter']['sha256']}  adapter_model.safetensors" in sums
    assert job.fine_tuned_model == f"ft:smollm2-135m:test:{job_id}"


async def test_two_trainers_share_jobs_each_trains_once_and_a_cancelled_job_publishes_nothing(
        broker, database_url, tmp_path):
    with trainers(broker, database_url, tmp_path) as group:
        _, client = group.start("a")
        _, other = group.start("b")
        await ready(client)
        await ready(other)
        kept = await new_job(client, tmp_path, steps=4, seed=1)
        dropped = await new_job(client, tmp_path, steps=40, seed=2)

        async def both_running() -> bool:
            return [await status(client, kept), await status(client, dropped)] == ["running", "running"]

        await wait_until(both_running, timeout=240, interval=0.3)  # one trainer runs one job at a time

        async def dropped_trains() -> bool:
            return any(m.startswith("Step ") for m in await messages(client, dropped))

        await wait_until(dropped_trains, timeout=240, interval=0.3)
        await other.fine_tuning.jobs.cancel(dropped)

        async def both_ended() -> bool:
            return await status(client, kept) in ("succeeded", "failed") and \
                await status(client, dropped) in ("cancelled", "failed", "succeeded")

        await wait_until(both_ended, timeout=300, interval=0.5)
        kept_job, dropped_job = [await client.fine_tuning.jobs.retrieve(j) for j in (kept, dropped)]
        kept_said = await messages(client, kept)
    assert (kept_job.status, dropped_job.status) == ("succeeded", "cancelled"), group.logs()
    assert sum("Fine-tuning job started" in m for m in kept_said) == 1
    assert not any("resumed" in m for m in kept_said)
    assert [a.name for a in (tmp_path / "blobs" / "adapters").iterdir()] == [kept]


async def test_bad_input_ends_in_one_clear_line_and_the_trainer_keeps_serving(broker, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DISTILLERY_TRAINER_BASE_MODELS", json.dumps({"clinic-8b": str(tmp_path / "no-such-model")}))
    with trainers(broker, database_url, tmp_path) as group:
        process, client = group.start("a")
        await ready(client)
        broken = tmp_path / "broken.jsonl"
        broken.write_text(teaching_lines(2)[0] + "\n" + json.dumps(
            {"messages": [{"role": "user", "content": "hi"}, {"role": "wizard", "content": "?"}]}) + "\n")
        refused = await client.files.create(file=broken.open("rb"), purpose="fine-tune")
        with pytest.raises(openai.BadRequestError, match="cannot be trained on: broken.jsonl line 2: "):
            await client.fine_tuning.jobs.create(model="smollm2-135m", training_file=refused.id)

        good = tmp_path / "good.jsonl"
        good.write_text("\n".join(teaching_lines(4)) + "\n")
        file = await client.files.create(file=good.open("rb"), purpose="fine-tune")
        job = await client.fine_tuning.jobs.create(model="clinic-8b", training_file=file.id)

        async def ended() -> bool:
            return await status(client, job.id) in ("failed", "succeeded")

        await wait_until(ended, timeout=120, interval=0.3)
        failed = await client.fine_tuning.jobs.retrieve(job.id)
        alive = process.poll() is None
    assert refused.status == "error" and refused.status_details.startswith("broken.jsonl line 2: ")
    assert failed.status == "failed" and failed.error.code == "invalid_base_model"
    assert failed.error.message == (f"base model {tmp_path / 'no-such-model'} does not exist: give a local "
                                    "checkpoint directory or one of smollm2-135m")
    assert alive, "a bad job must not take the trainer down"

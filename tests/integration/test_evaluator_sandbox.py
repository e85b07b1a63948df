"""The evaluator service over a real broker and database, against the OpenAI sandbox.

Students are fine-tuned in the sandbox on simulated clinic traffic: one on clean data,
one on data that still holds injected hallucinations (25% of text answers, a rate the
test states so that the verdict does not hang on one or two answers of a small set).
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path

import openai
import pytest
from kafka_helpers import read_topic
from typer.testing import CliRunner

from distillery_cli.evaluate import eval_app
from distillery_contracts.commands import RunEvaluation
from distillery_contracts.finetune import JobStatus
from distillery_contracts.registry import (
    COMMANDS_EVAL,
    DATASETS_BUILT,
    EVALUATIONS_COMPLETED,
    FINETUNE_JOBS,
    all_topic_specs,
)
from distillery_contracts.samples import sample_dataset_built, sample_finetune_job_changed
from distillery_evaluator.adapters.chat import OpenAIChatClient
from distillery_evaluator.adapters.fakes import FakeEmbedder
from distillery_evaluator.adapters.sources import golden_loader
from distillery_evaluator.app import Wiring, build
from distillery_evaluator.config import EvaluatorSettings
from distillery_runtime.kafka import ensure_topics, publish_events
from distillery_runtime.service import ServiceRunner
from distillery_runtime.settings import RuntimeSettings
from distillery_sandbox.golden import write_golden_set
from distillery_sandbox.openai import (
    FaultRule,
    JobTimings,
    LatencyProfile,
    SandboxConfig,
    run_in_thread,
    simulated_training_file,
)
from distillery_sandbox.workload import DefectRates, WorkloadConfig

pytestmark = pytest.mark.integration

FAST = JobTimings(validating=0.1, queued=0.05, running=0.3, file_processing=0.05, deployment=0.1)
INJECTED_HALLUCINATIONS = 0.25


@pytest.fixture(scope="module")
def sandbox():
    config = SandboxConfig(timings=FAST, latency=LatencyProfile(scale=0), min_examples_per_intent=5)
    with run_in_thread(config) as running:
        yield running


def fine_tune(sandbox, hallucination: float) -> str:
    client = openai.OpenAI(base_url=sandbox.openai_base_url, api_key="sk-sandbox", max_retries=0)
    content = simulated_training_file(WorkloadConfig(seed=21, calls=150,
                                                     defects=DefectRates(hallucination=hallucination)))
    upload = client.files.create(file=("train.jsonl", io.BytesIO(content)), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload.id)
    deadline = time.monotonic() + 30
    while job.status not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"sandbox job stuck in {job.status}"
        time.sleep(0.05)
        job = client.fine_tuning.jobs.retrieve(job.id)
    assert job.status == "succeeded"
    return job.fine_tuned_model


@pytest.fixture(scope="module")
def students(sandbox) -> dict[str, str]:
    return {"clean": fine_tune(sandbox, 0.0), "hallucinating": fine_tune(sandbox, INJECTED_HALLUCINATIONS)}


@pytest.fixture
async def start_evaluator(broker, database_url, sandbox, tmp_path):
    """Starts the evaluator service in-process with golden and validation sets of the given sizes."""
    await ensure_topics(broker.bootstrap, all_topic_specs())
    started = []

    golden_set = tmp_path / "golden.jsonl"
    write_golden_set(golden_set)  # the simulated clinic's, as the demo writes it

    async def start(golden: int, validation: int) -> ServiceRunner:
        settings = RuntimeSettings(kafka_bootstrap=broker.bootstrap, database_url=database_url,
                                   home=tmp_path, consumer_batch_timeout_ms=50, outbox_poll_s=0.1,
                                   shutdown_grace_s=2)
        config = EvaluatorSettings(openai_base_url=sandbox.openai_base_url, openai_api_key="sk-sandbox",
                                   judge_enabled=False, poll_s=0.1, validation_limit=validation,
                                   attempts=4, retry_backoff_s=0.05, concurrency=8,
                                   reports_dir=tmp_path / "reports")
        wiring = Wiring(models=OpenAIChatClient(api_key="sk-sandbox", base_url=sandbox.openai_base_url),
                        judge=None, embedder=FakeEmbedder(), golden=golden_loader("file", path=golden_set, limit=golden))
        runner = ServiceRunner(build(settings, config, wiring), settings)
        started.append((runner, asyncio.create_task(runner.run())))
        return runner

    yield start
    for runner, task in started:
        runner.stopping.set()
        await asyncio.wait_for(task, 30)


def validation_file(home: Path) -> Path:
    """In the datasets store under ``home``: the evaluator reads no file elsewhere."""
    path = home / "datasets" / "ds-0007" / "validation.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(simulated_training_file(WorkloadConfig(seed=99, calls=25)))
    return path


async def completed(bootstrap: str, expect: int) -> dict[str, dict]:
    messages = await read_topic(bootstrap, EVALUATIONS_COMPLETED, expect=expect, timeout=90)
    return {json.loads(m.value)["candidate_model"]: json.loads(m.value) | {"_headers": m.headers}
            for m in messages}


async def test_a_clean_student_passes_and_one_taught_hallucinations_fails(
        start_evaluator, broker, students, tmp_path, database_url, monkeypatch):
    await start_evaluator(golden=20, validation=30)
    dataset = sample_dataset_built(dataset_id="ds-0007")
    dataset.files.validation.uri = validation_file(tmp_path).as_uri()
    await publish_events(broker.bootstrap, DATASETS_BUILT, [dataset], producer="test/1")
    jobs = [sample_finetune_job_changed(job_id=f"job-{kind}", status=JobStatus.SUCCEEDED,
                                        fine_tuned_model=model, dataset_id="ds-0007",
                                        provider="openai", deployment_name=None)
            for kind, model in students.items()]
    await publish_events(broker.bootstrap, FINETUNE_JOBS, jobs, producer="test/1",
                         correlation_id="cycle-0007")

    verdicts = await completed(broker.bootstrap, expect=2)

    clean, bad = verdicts[students["clean"]], verdicts[students["hallucinating"]]
    assert clean["outcome"] == "passed", clean["gates"]
    assert [s["name"] for s in clean["eval_sets"]] == ["golden", "validation"]
    assert clean["_headers"]["correlation-id"] == "cycle-0007"
    assert bad["outcome"] == "failed"
    [gate] = [g for g in bad["gates"] if g["name"] == "hallucination"]
    assert not gate["passed"] and gate["value"] > gate["threshold"]
    assert bad["scorers_ran"][:2] == ["deterministic", "embedding"]
    report = Path(bad["report_uri"].removeprefix("file://")).read_text()
    assert "## Hallucinated answers of the candidate" in report
    assert "contradicts the reference" in report

    monkeypatch.setenv("DISTILLERY_DATABASE_URL", database_url)
    monkeypatch.setenv("DISTILLERY_KAFKA_BOOTSTRAP", broker.bootstrap)
    # the CLI runs its own event loop: call it from a thread, as a separate process would
    shown = await asyncio.to_thread(CliRunner().invoke, eval_app, ["show", bad["run_id"]],
                                    terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "FAILED" in shown.output and "hallucination" in shown.output
    listed = await asyncio.to_thread(CliRunner().invoke, eval_app, ["list"], terminal_width=200)
    assert clean["run_id"] in listed.output and bad["run_id"] in listed.output


async def test_endpoint_failures_are_retried_and_an_endpoint_that_stays_down_ends_in_error(
        start_evaluator, broker, sandbox, students, database_url):
    await start_evaluator(golden=6, validation=0)
    faults = sandbox.sandbox.config.faults
    faults.replace([FaultRule(status=429, every=3, path_prefix="/v1/chat", retry_after_seconds=0)])
    await publish_events(broker.bootstrap, COMMANDS_EVAL, [RunEvaluation(
        model=students["clean"], requested_by="test")], producer="cli/0.1.0")
    [retried] = (await completed(broker.bootstrap, expect=1)).values()
    assert retried["outcome"] == "passed"

    faults.replace([FaultRule(status=503, every=1, path_prefix="/v1/chat")])
    await publish_events(broker.bootstrap, COMMANDS_EVAL, [RunEvaluation(
        model=students["hallucinating"], requested_by="test")], producer="cli/0.1.0")
    try:
        verdicts = await completed(broker.bootstrap, expect=2)
    finally:
        faults.replace([])
    down = verdicts[students["hallucinating"]]
    assert down["outcome"] == "error" and down["gates"] == []
    assert "HTTP 503" in down["error_message"] and "after retries" in down["error_message"]

    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        retries = await conn.fetchval(
            "select sum(attempts - 1) from evaluator.answers where run_id = $1", retried["run_id"])
    finally:
        await conn.close()
    assert retries > 0

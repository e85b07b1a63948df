"""The finetune-controller against the OpenAI/Azure sandbox, a real broker and a real database."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from db_helpers import create_database
from finetune_sandbox import FAR, MINI, remote_jobs, sandbox_config, write_dataset
from kafka_helpers import read_topic

from distillery_cli.localstack.broker import start_broker
from distillery_cli.localstack.procs import free_port

from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.finetune import FinetuneJobChanged, JobStatus, PublishedDates
from distillery_contracts.registry import DATASETS_BUILT, FINETUNE_JOBS, all_topic_specs
from distillery_finetune_controller.app import build
from distillery_finetune_controller.config import FinetuneSettings
from distillery_runtime.kafka import ensure_topics, publish_events
from distillery_runtime.service import ServiceRunner
from distillery_runtime.settings import RuntimeSettings
from distillery_sandbox.openai import FaultRule, Faults, JobTimings, run_in_thread

pytestmark = pytest.mark.integration

S = JobStatus
FAST = JobTimings(validating=0.4, queued=0.4, running=1.2, file_processing=0.2, deployment=0.5)
RETIRED = "gpt-4.1-2025-04-14"


class CountingFaults(Faults):
    """The sandbox's fault rules, counting the failures actually served."""

    served = 0

    def hit(self, path: str) -> FaultRule | None:
        rule = super().hit(path)
        self.served += rule is not None
        return rule


@pytest.fixture(scope="module")
def faults() -> CountingFaults:
    return CountingFaults()


@pytest.fixture(scope="module")
def box(faults: CountingFaults) -> Iterator[Any]:
    """One sandbox serving both flavours; gpt-4.1's snapshot is retired, gpt-4o-mini is not."""
    with run_in_thread(sandbox_config(FAST, retired={RETIRED: date(2026, 1, 1)}, faults=faults)) as running:
        yield running


def finetune_settings(box: Any, provider: str = "openai", **overrides: Any) -> FinetuneSettings:
    """Fast timings; lifecycle dates only from the sandbox, so the tests do not age."""
    values: dict[str, Any] = {
        "provider": provider, "openai_base_url": box.openai_base_url, "openai_api_key": "sk-sandbox",
        "azure_endpoint": box.url, "azure_api_key": "azure-sandbox-key", "azure_management_url": box.url,
        "azure_management_token": "sandbox-arm-token", "azure_subscription_id": "sub-1",
        "azure_resource_group": "rg-1", "azure_account": "distillery-aoai", "worker_interval_s": 0.1,
        "poll_interval_s": 0.1, "poll_max_interval_s": 0.2, "retry_base_s": 0.1, "retry_max_s": 0.5,
        "calendar": {}, "min_service_life_days": 0, "fallback_model": "gpt-4.1-mini-2025-04-14",
        "sdk_max_retries": 1,
    }
    return FinetuneSettings(**{**values, **overrides})


@dataclass
class Stack:
    bootstrap: str
    database_url: str


@asynccontextmanager
async def running_controller(tmp: Path, server_url: str, finetune: FinetuneSettings) -> AsyncIterator[Stack]:
    """Its own broker and database (a controller per flavour), the controller in this process."""
    broker = start_broker(tmp, free_port())
    database_url = await create_database(server_url)
    try:
        await ensure_topics(broker.bootstrap, all_topic_specs())
        settings = RuntimeSettings(kafka_bootstrap=broker.bootstrap, database_url=database_url,
                                   consumer_batch_timeout_ms=50, outbox_poll_s=0.1, handler_backoff_s=0.05,
                                   shutdown_grace_s=2)
        runner = ServiceRunner(build(settings, finetune), settings)
        task = asyncio.create_task(runner.run())
        # Alembic keeps its migration context in module globals: two services of one process
        # must not migrate at once, so the next controller starts once this one serves.
        while runner.http is None and not task.done():
            await asyncio.sleep(0.05)
        try:
            yield Stack(broker.bootstrap, database_url)
        finally:
            runner.stopping.set()
            await asyncio.wait_for(task, 30)
    finally:
        broker.stop()


@pytest.fixture(scope="module")
async def stacks(box, postgres_server_url, tmp_path_factory) -> AsyncIterator[dict[str, Stack]]:
    """An OpenAI and an Azure controller, started together: joining consumer groups is slow."""
    async with contextlib.AsyncExitStack() as started:
        yield {flavour: await started.enter_async_context(running_controller(
            tmp_path_factory.mktemp(flavour), postgres_server_url,
            finetune_settings(box, flavour, datasets_dir=tmp_path_factory.getbasetemp())))
            for flavour in ("openai", "azure")}


@pytest.fixture
def openai_stack(stacks: dict[str, Stack]) -> Stack:
    return stacks["openai"]


@pytest.fixture
def azure_stack(stacks: dict[str, Stack]) -> Stack:
    return stacks["azure"]


async def job_events(stack: Stack, dataset: DatasetBuilt, until: JobStatus,
                     timeout: float = 30.0) -> list[FinetuneJobChanged]:
    """The dataset's job's events, in order, once ``until`` (or any end) is among them."""
    deadline = time.monotonic() + timeout
    while True:
        messages = await read_topic(stack.bootstrap, FINETUNE_JOBS, timeout=0.5, settle=0)
        events = [FinetuneJobChanged.model_validate_json(m.value) for m in messages
                  if m.key == dataset.dataset_id]
        if any(e.status is until or e.status.terminal for e in events) or time.monotonic() > deadline:
            return events
        await asyncio.sleep(0.2)


LIFECYCLE = [S.SUBMITTED, S.VALIDATING, S.QUEUED, S.RUNNING, S.SUCCEEDED]


def assert_in_lifecycle_order(events: list[FinetuneJobChanged]) -> None:
    """Submitted first, succeeded last, each state once and none backwards. The controller
    learns a provider's state by polling it, so a state shorter than a poll's gap (the sandbox's
    are fractions of a second; a loaded machine or 429s stretch the gap) may not be seen."""
    seen = [e.status for e in events]
    assert seen[0] == S.SUBMITTED and seen[-1] == S.SUCCEEDED, seen
    assert seen == sorted(seen, key=LIFECYCLE.index) and len(set(seen)) == len(seen), seen


async def publish(stack: Stack, dataset: DatasetBuilt) -> None:
    await publish_events(stack.bootstrap, DATASETS_BUILT, [dataset], producer="test/1",
                         correlation_id=dataset.cycle_id)


async def fetch(database_url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(query)
    finally:
        await conn.close()



async def test_openai_dataset_becomes_a_trained_model_with_its_states_in_order(openai_stack, box, tmp_path):
    dataset = write_dataset(tmp_path, "ds-0042")
    await publish(openai_stack, dataset)
    events = await job_events(openai_stack, dataset, until=S.SUCCEEDED)
    url = openai_stack.database_url
    stored = await fetch(url, "select count(*) from finetune_controller.job_events where job_id = 'job-ds-0042'")
    checkpoints = await fetch(url, "select count(*) from finetune_controller.job_checkpoints "
                                   "where job_id = 'job-ds-0042'")
    [model] = await fetch(url, "select * from finetune_controller.models where dataset_id = 'ds-0042'")
    logged = await fetch(url, "select step from (select (data->>'step')::int as step from finetune_controller.job_events "
                              "where job_id = 'job-ds-0042' and data ? 'train_loss' union select step "
                              "from finetune_controller.job_checkpoints where job_id = 'job-ds-0042' "
                              "and metrics ? 'train_loss') s order by step")

    assert_in_lifecycle_order(events)
    assert S.RUNNING in [e.status for e in events]  # the longest state (1.2 s here) is seen
    done = events[-1]
    assert done.fine_tuned_model and done.fine_tuned_model.startswith("ft:gpt-4o-mini")
    assert done.deployment_name is None
    assert done.metrics.train_loss is not None and done.trained_tokens
    # the succeeded event carries every training loss the provider logged, step by step
    assert logged and [p.step for p in done.loss_curve] == [r["step"] for r in logged]
    assert done.loss_curve[-1].train_loss == done.metrics.train_loss
    [remote] = [job for job in remote_jobs(box) if job["id"] == done.provider_job_id]
    assert remote["metadata"] == {"distillery_job_id": "job-ds-0042", "dataset_id": "ds-0042",
                                  "cycle_id": "cycle-0042"}
    assert stored[0][0] > 0 and checkpoints[0][0] > 0
    assert (model["fine_tuned_model"], model["status"]) == (done.fine_tuned_model, "candidate")


async def test_a_base_model_past_its_shutdown_is_refused_before_any_upload(openai_stack, box, tmp_path):
    dataset = write_dataset(tmp_path, "ds-0044", base_model=RETIRED)
    before = httpx.get(f"{box.openai_base_url}/files", headers={"Authorization": "Bearer sk-sandbox"}).json()
    await publish(openai_stack, dataset)
    [refused] = await job_events(openai_stack, dataset, until=S.REFUSED)
    after = httpx.get(f"{box.openai_base_url}/files", headers={"Authorization": "Bearer sk-sandbox"}).json()

    assert refused.status is S.REFUSED and refused.error.code == "model_retired"
    assert "2026-01-01" in refused.error.message and "gpt-4.1-mini-2025-04-14" in refused.error.message
    assert after["data"] == before["data"]


async def test_a_bad_training_file_arrives_as_failed_with_the_providers_message(openai_stack, tmp_path):
    dataset = write_dataset(tmp_path, "ds-0045", broken_line=3)
    await publish(openai_stack, dataset)
    events = await job_events(openai_stack, dataset, until=S.FAILED)

    assert events[0].status is S.SUBMITTED and events[-1].status is S.FAILED
    assert events[-1].error.code == "invalid_training_file"
    assert "line 3" in events[-1].error.message.lower()


async def test_rate_limits_beyond_the_sdks_retries_are_waited_out(openai_stack, box, faults, tmp_path):
    dataset = write_dataset(tmp_path, "ds-0046")
    jobs_before = len(remote_jobs(box))
    faults.replace([FaultRule(429, every=1, path_prefix="/v1/", retry_after_seconds=0.1)])
    try:
        await publish(openai_stack, dataset)
        await asyncio.sleep(2.0)  # every call refused for a while: more 429s than the SDK retries
    finally:
        faults.replace([])
    events = await job_events(openai_stack, dataset, until=S.SUCCEEDED)

    assert faults.served >= 4
    assert_in_lifecycle_order(events)  # polls delayed by 429s miss short-lived states
    assert len(remote_jobs(box)) == jobs_before + 1


async def test_azure_job_is_deployed_before_success_is_announced(azure_stack, box, tmp_path):
    dataset = write_dataset(tmp_path, "ds-0043")
    await publish(azure_stack, dataset)
    events = await job_events(azure_stack, dataset, until=S.SUCCEEDED)
    deployment = httpx.get(
        f"{box.url}/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.CognitiveServices/accounts/"
        "distillery-aoai/deployments/distillery-ds-0043", params={"api-version": "2024-10-01"},
        headers={"Authorization": "Bearer sandbox-arm-token"}).json()

    assert_in_lifecycle_order(events)
    assert S.VALIDATING not in [e.status for e in events]  # Azure has no validating state of its own
    done = events[-1]
    assert done.provider == "azure" and done.deployment_name == "distillery-ds-0043"
    assert done.loss_curve and done.loss_curve[-1].step == done.metrics.step
    assert deployment["properties"]["model"]["name"] == done.fine_tuned_model
    assert deployment["properties"]["provisioningState"] == "Succeeded"
    # what Azure publishes of the base model's life, which the console warns of Azure arms by
    published = PublishedDates(source="Azure model deprecation", fine_tune_until=FAR, shutdown=FAR)
    assert [e.base_model_dates for e in events] == [published] * len(events)

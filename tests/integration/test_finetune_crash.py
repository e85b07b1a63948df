"""A controller killed after the provider accepted a job, before it recorded the answer,
finds that job again on restart: no second paid job is started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from finetune_sandbox import remote_jobs, sandbox_config, write_dataset
from kafka_helpers import read_topic, wait_until

from distillery_contracts.finetune import FinetuneJobChanged, JobStatus
from distillery_contracts.registry import DATASETS_BUILT, FINETUNE_JOBS, all_topic_specs
from distillery_finetune_controller.services import CRASH_AFTER_CREATE
from distillery_runtime.kafka import ensure_topics, publish_events
from distillery_sandbox.openai import JobTimings, run_in_thread

pytestmark = pytest.mark.integration

S = JobStatus
ORDER = [S.SUBMITTED, S.VALIDATING, S.QUEUED, S.RUNNING, S.SUCCEEDED]


def start_controller(broker: Any, database_url: str, box: Any, tmp_path: Path, **extra: str) -> subprocess.Popen:
    env = {**os.environ, "DISTILLERY_KAFKA_BOOTSTRAP": broker.bootstrap, "DISTILLERY_DATABASE_URL": database_url,
           "DISTILLERY_HOME": str(tmp_path), "DISTILLERY_CONSUMER_BATCH_TIMEOUT_MS": "50",
           "DISTILLERY_OUTBOX_POLL_S": "0.1", "DISTILLERY_SHUTDOWN_GRACE_S": "2",
           "DISTILLERY_FINETUNE_PROVIDER": "openai", "DISTILLERY_FINETUNE_OPENAI_BASE_URL": box.openai_base_url,
           "DISTILLERY_FINETUNE_OPENAI_API_KEY": "sk-sandbox", "DISTILLERY_FINETUNE_WORKER_INTERVAL_S": "0.1",
           "DISTILLERY_FINETUNE_POLL_INTERVAL_S": "0.1", "DISTILLERY_FINETUNE_POLL_MAX_INTERVAL_S": "0.2",
           "DISTILLERY_FINETUNE_CALENDAR": "{}", "DISTILLERY_FINETUNE_MIN_SERVICE_LIFE_DAYS": "0", **extra}
    log = (tmp_path / "controller.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "distillery_finetune_controller"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)


async def local_job(database_url: str) -> asyncpg.Record | None:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchrow("select phase, provider_job_id, create_attempts from finetune_controller.jobs")
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await conn.close()


async def test_killed_between_the_providers_answer_and_the_commit_no_second_job_is_created(
        broker, database_url, tmp_path):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    config = sandbox_config(JobTimings(validating=0.3, queued=0.3, running=1.0))
    log = tmp_path / "controller.log"
    with run_in_thread(config) as box:
        await publish_events(broker.bootstrap, DATASETS_BUILT, [write_dataset(tmp_path / "datasets" / "ds-0050", "ds-0050", epochs=1)],
                             producer="test/1")
        first = start_controller(broker, database_url, box, tmp_path, DISTILLERY_CRASH_AT=CRASH_AFTER_CREATE,
                                 DISTILLERY_CRASH_MARKER=str(tmp_path / "crashed"))
        assert first.wait(timeout=90) == 137, log.read_text()[-3000:]
        remote_after_crash = remote_jobs(box)
        stranded = await local_job(database_url)

        second = start_controller(broker, database_url, box, tmp_path)
        try:
            events = await wait_until(lambda: _finished(broker.bootstrap), timeout=60)
        finally:
            second.terminate()
            assert second.wait(timeout=30) == 0, log.read_text()[-3000:]
        remote_at_end = remote_jobs(box)

    assert len(remote_after_crash) == 1, "the provider should have accepted the job before the crash"
    assert stranded["phase"] == "creating" and stranded["provider_job_id"] is None
    assert stranded["create_attempts"] == 1
    assert [job["id"] for job in remote_at_end] == [remote_after_crash[0]["id"]]
    statuses = [e.status for e in events]
    # The provider moved on while no controller ran: states it passed unseen are not invented.
    assert statuses[0] is S.SUBMITTED and statuses[-1] is S.SUCCEEDED
    assert statuses == [s for s in ORDER if s in statuses]
    assert {e.provider_job_id for e in events} == {remote_after_crash[0]["id"]}
    assert "found the job an earlier attempt created" in log.read_text()


async def _finished(bootstrap: str) -> list[FinetuneJobChanged] | None:
    messages = await read_topic(bootstrap, FINETUNE_JOBS, timeout=0.5, settle=0)
    events = [FinetuneJobChanged.model_validate_json(m.value) for m in messages]
    return events if any(e.status.terminal for e in events) else None

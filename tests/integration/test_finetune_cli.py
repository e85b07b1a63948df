"""``distillery finetune`` reads the controller's tables and cancels through the command topic."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from kafka_helpers import read_topic
from typer.testing import CliRunner

from distillery_cli.finetune import finetune_app
from distillery_contracts.finetune import Hyperparameters, JobMetrics, JobStatus, PublishedDates
from distillery_contracts.registry import COMMANDS_FINETUNE, all_topic_specs
from distillery_finetune_controller import SCHEMA
from distillery_finetune_controller.adapters.job_store import SqlJobStore
from distillery_finetune_controller.adapters.model_store import SqlModelStore
from distillery_finetune_controller.domain.job import FileRef, Job, Phase
from distillery_finetune_controller.domain.provider_types import ProviderCheckpoint, ProviderEvent
from distillery_finetune_controller.domain.registry import ModelStatus, RegisteredModel
from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.kafka import ensure_topics
from distillery_runtime.migrations import migrate

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MIGRATIONS = Path(__import__("distillery_finetune_controller").__file__).parent / "migrations"


def job(job_id: str, phase: Phase, status: JobStatus | None, **fields) -> Job:
    ref = FileRef("file:///data/train.jsonl", "ab" * 32, 100)
    return Job(job_id=job_id, provider="openai", dataset_id=job_id.removeprefix("job-"), dataset_version=1,
               cycle_id="cycle-0001", base_model="gpt-4o-mini-2024-07-18", train=ref, validation=ref,
               hyperparameters=Hyperparameters(n_epochs=3), suffix="distillery", seed=None, created_at=T0,
               next_check_at=T0, phase=phase, status=status, updated_at=T0, **fields)


async def seed(database_url: str) -> None:
    engine = create_engine(database_url, SCHEMA)
    await migrate(engine, SCHEMA, MIGRATIONS)
    async with session_factory(engine)() as session:
        jobs, registry = SqlJobStore(session), SqlModelStore(session)
        done = job("job-ds-0001", Phase.DONE, JobStatus.SUCCEEDED, provider_job_id="ftjob-1",
                   fine_tuned_model="ft:gpt-4o-mini:distillery:abc", metrics=JobMetrics(step=30, valid_loss=0.42),
                   base_model_dates=PublishedDates(source="provider's shutdown_date", shutdown=date(2027, 1, 14)))
        await jobs.add(done, "openai:test")
        await jobs.add(job("job-ds-0002", Phase.TRACKING, JobStatus.RUNNING, provider_job_id="ftjob-2"), "openai:test")
        for n, status in enumerate((JobStatus.SUBMITTED, JobStatus.RUNNING, JobStatus.SUCCEEDED)):
            await jobs.record_status("job-ds-0001", status, T0 + timedelta(minutes=n))
        await jobs.add_checkpoints("job-ds-0001", [ProviderCheckpoint("ckpt-1", T0, 30, "ft:ckpt-step-30",
                                                                      {"train_loss": 0.31, "valid_loss": 0.42})])
        await jobs.add_events("job-ds-0001", [ProviderEvent("ev-1", T0, "info", "Fine-tuning job started")])
        await registry.register(RegisteredModel(
            fine_tuned_model="ft:gpt-4o-mini:distillery:abc", job_id="job-ds-0001", dataset_id="ds-0001",
            cycle_id="cycle-0001", base_model="gpt-4o-mini-2024-07-18", provider="openai",
            provider_job_id="ftjob-1", deployment_name=None, trained_tokens=900, metrics=done.metrics,
            status=ModelStatus.CANDIDATE, registered_at=T0, status_changed_at=T0))
        await session.commit()
    await engine.dispose()


@pytest.fixture
async def seeded(database_url, broker):
    await seed(database_url)
    await ensure_topics(broker.bootstrap, all_topic_specs())
    return {"DISTILLERY_DATABASE_URL": database_url, "DISTILLERY_KAFKA_BOOTSTRAP": broker.bootstrap,
            "COLUMNS": "250"}


def run(env: dict[str, str], *args: str):
    return CliRunner().invoke(finetune_app, list(args), env=env)


def test_list_shows_every_job_with_its_state(seeded):
    result = run(seeded, "list", "--json")

    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert {(r["job_id"], r["status"]) for r in rows} == {("job-ds-0001", "succeeded"), ("job-ds-0002", "running")}


def test_show_tells_a_jobs_history_metrics_checkpoints_and_events(seeded):
    result = run(seeded, "show", "job-ds-0001")

    assert result.exit_code == 0, result.output
    for expected in ("ft:gpt-4o-mini:distillery:abc", "submitted", "succeeded", "valid loss 0.4200", "0.3100",
                     "Fine-tuning job started", "shuts down on 2027-01-14 (provider's shutdown_date)"):
        assert expected in result.output
    assert "base model's dates" not in run(seeded, "show", "job-ds-0002").output  # the provider said none


def test_show_of_an_unknown_job_says_so(seeded):
    result = run(seeded, "show", "job-nope")
    assert result.exit_code == 2
    assert "no fine-tuning job 'job-nope'" in result.output


def test_models_lists_the_registry(seeded):
    result = run(seeded, "models")
    assert result.exit_code == 0, result.output
    assert "ft:gpt-4o-mini:distillery:abc" in result.output and "candidate" in result.output


def test_cancel_publishes_the_command_and_refuses_ended_jobs(seeded):
    ended = run(seeded, "cancel", "job-ds-0001")
    assert ended.exit_code == 1 and "already ended" in ended.output

    result = run(seeded, "cancel", "job-ds-0002", "--reason", "wrong data", "--by", "ops")
    assert result.exit_code == 0, result.output
    [message] = asyncio.run(read_topic(seeded["DISTILLERY_KAFKA_BOOTSTRAP"], COMMANDS_FINETUNE, expect=1))
    body = json.loads(message.value)
    assert (body["job_id"], body["reason"], body["requested_by"]) == ("job-ds-0002", "wrong data", "ops")
    assert message.key == "job-ds-0002"



def test_reading_a_database_the_controller_has_not_migrated_says_how_to_fix_it(database_url):
    result = run({"DISTILLERY_DATABASE_URL": database_url, "COLUMNS": "250"}, "list")

    assert result.exit_code == 2
    assert "no finetune-controller tables yet" in result.output
    assert "distillery migrate finetune-controller" in result.output

"""The dataset-builder service over a real broker and database, driven as operators drive it."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
import typer
from db_helpers import count_rows
from kafka_helpers import read_topic, wait_until
from typer.testing import CliRunner

from distillery_cli.dataset import dataset_app
from distillery_contracts.registry import (
    DATASETS_BUILT,
    EXAMPLES_ACCEPTED,
    EXAMPLES_REJECTED,
    all_topic_specs,
)
from distillery_contracts.samples import sample_example_rejected
from distillery_dataset_builder.app import build
from distillery_dataset_builder.config import DatasetBuilderSettings
from distillery_dataset_builder.domain.canonical import training_line
from distillery_dataset_builder.samples import synthetic_calls
from distillery_runtime.kafka import ensure_topics, publish_events
from distillery_runtime.service import ServiceRunner
from distillery_runtime.settings import RuntimeSettings

pytestmark = pytest.mark.integration

cli = typer.Typer()
cli.add_typer(dataset_app, name="dataset")


@pytest.fixture
async def service(broker, database_url, tmp_path):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    settings = RuntimeSettings(kafka_bootstrap=broker.bootstrap, database_url=database_url, home=tmp_path,
                               consumer_batch_timeout_ms=50, outbox_poll_s=0.1)
    config = DatasetBuilderSettings(build_threshold=100, schedule="off", check_interval_s=0.2, target_size=1_000,
                                    datasets_dir=tmp_path / "datasets")
    runner = ServiceRunner(build(settings, config), settings)
    task = asyncio.create_task(runner.run())
    yield runner
    runner.stopping.set()
    await asyncio.wait_for(task, 30)


async def run_cli(broker, database_url: str, *args: str):
    env = {"DISTILLERY_KAFKA_BOOTSTRAP": broker.bootstrap, "DISTILLERY_DATABASE_URL": database_url,
           "COLUMNS": "200"}
    return await asyncio.to_thread(CliRunner().invoke, cli, ["dataset", *args], env=env)


def file_of(uri: str) -> Path:
    return Path(urlparse(uri).path)


async def test_examples_become_a_dataset_then_an_operator_builds_lists_shows_and_compares(
        service, broker, database_url):
    calls = list(synthetic_calls(24, turns=5))
    taken_back = calls[3]
    rejection = sample_example_rejected(
        rejection_id="rj-late", cleaner_version=taken_back.cleaner_version, config_hash=taken_back.config_hash,
        reason="hallucination", lineage=taken_back.lineage.model_dump())
    await publish_events(broker.bootstrap, EXAMPLES_REJECTED, [rejection], producer="cleaner/0.1.0")
    assert await wait_until(lambda: count_rows(database_url, "dataset_builder.retractions"), timeout=30), "rejection never stored"
    await publish_events(broker.bootstrap, EXAMPLES_ACCEPTED, calls, producer="cleaner/0.1.0")

    [message] = await read_topic(broker.bootstrap, DATASETS_BUILT, expect=1, timeout=40, settle=0.2)
    first = json.loads(message.value)
    assert message.headers["correlation-id"] == first["cycle_id"] == "cycle-0001"
    assert message.headers["producer"] == "dataset-builder/0.1.0" and message.key == "ds-0001"
    assert first["trigger"] == "threshold"
    assert first["counts"]["train_examples"] + first["counts"]["validation_examples"] == len(calls) - 1
    for name in ("train", "validation", "manifest"):
        path = file_of(first["files"][name]["uri"])
        assert hashlib.sha256(path.read_bytes()).hexdigest() == first["files"][name]["sha256"]
    lines = set(file_of(first["files"]["train"]["uri"]).read_text().splitlines())
    assert training_line(taken_back) not in lines, "a retracted example reached the training file"

    result = await run_cli(broker, database_url, "build", "--target-size", "40", "--cycle-id", "cycle-0042")
    assert result.exit_code == 0, result.output
    assert "Build requested (command " in result.output
    built = await _built(broker, 2, timeout=40)
    assert built is not None
    second = json.loads(built[1].value)
    assert second["cycle_id"] == built[1].headers["correlation-id"] == "cycle-0042"
    assert built[1].headers["causation-id"] == result.output.split("(command ")[1].split(")")[0]
    assert second["trigger"] == "command" and second["selection"]["target_size"] == 40
    assert second["counts"]["train_examples"] + second["counts"]["validation_examples"] == 40

    listing = await run_cli(broker, database_url, "list")
    assert listing.exit_code == 0, listing.output
    assert "ds-0002" in listing.output and "cycle-0042" in listing.output and "command" in listing.output
    shown = await run_cli(broker, database_url, "show", "ds-0002")
    assert shown.exit_code == 0, shown.output
    assert "target 40 · cap 25 per session · stratify intent (proportional)" in shown.output
    assert second["files"]["train"]["sha256"] in shown.output
    diff = await run_cli(broker, database_url, "diff", "ds-0001", "ds-0002")
    assert diff.exit_code == 0, diff.output
    assert "ds-0001 → ds-0002: 0 added, 79 removed, 40 in both" in diff.output
    assert "intent:" in diff.output and "pp" in diff.output
    missing = await run_cli(broker, database_url, "show", "ds-0099")
    assert missing.exit_code == 2
    assert "no published dataset 'ds-0099'; published datasets: ds-0002, ds-0001" in missing.output


async def _built(broker, n: int, timeout: float = 5.0):
    messages = await read_topic(broker.bootstrap, DATASETS_BUILT, expect=n, timeout=timeout, settle=0.2)
    return messages if len(messages) >= n else None

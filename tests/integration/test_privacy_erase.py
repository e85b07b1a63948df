"""`distillery privacy erase` end to end: the cleaner, the dataset-builder and the evaluator
run on a real broker and PostgreSQL; an operator erases one caller's session; the caller is
then in none of their tables, and the next dataset does not hold them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
import typer
from db_helpers import count_rows, fetch_rows, fetch_value
from kafka_helpers import read_topic, wait_until
from typer.testing import CliRunner

from distillery_cleaner.app import build as build_cleaner
from distillery_cli.privacy_erase import erase_cmd
from distillery_console.app import build as build_console
from distillery_console.config import ConsoleSettings
from distillery_contracts.commands import BuildDataset
from distillery_contracts.registry import DATASETS_BUILT, EXAMPLES_ACCEPTED, TRACES_RAW, all_topic_specs
from distillery_contracts.samples import sample_trace_captured
from distillery_dataset_builder.app import build as build_dataset_builder
from distillery_dataset_builder.config import DatasetBuilderSettings
from distillery_dataset_builder.domain.canonical import training_line
from distillery_dataset_builder.samples import synthetic_calls
from distillery_evaluator.adapters.fakes import FakeChatClient, FakeEmbedder
from distillery_evaluator.adapters.sources import golden_loader
from distillery_evaluator.app import Wiring
from distillery_evaluator.app import build as build_evaluator
from distillery_evaluator.config import EvaluatorSettings
from distillery_runtime.kafka import ensure_topics, publish_events
from distillery_runtime.service import ServiceRunner
from distillery_runtime.settings import RuntimeSettings
from distillery_trace_ingester.adapters.fakes import FakeLangfuseReader
from distillery_trace_ingester.app import build as build_ingester
from distillery_trace_ingester.config import IngesterSettings, LangfuseProject

pytestmark = pytest.mark.integration

JANE = "call-000003"
SCHEMAS = ("trace_ingester", "cleaner", "dataset_builder", "evaluator", "console")

cli = typer.Typer()
cli.command("noop")(lambda: None)
cli.command("erase")(erase_cmd)


@pytest.fixture
async def services(broker, database_url, tmp_path):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    settings = RuntimeSettings(kafka_bootstrap=broker.bootstrap, database_url=database_url, home=tmp_path,
                               consumer_batch_timeout_ms=50, outbox_poll_s=0.1, shutdown_grace_s=2)
    dataset = DatasetBuilderSettings(build_threshold=100, schedule="off", check_interval_s=0.2,
                                     target_size=1_000, datasets_dir=tmp_path / "datasets")
    evaluator = EvaluatorSettings(openai_api_key="sk-unused", judge_enabled=False, poll_s=0.2)
    wiring = Wiring(models=FakeChatClient(lambda target, messages: "ok"), judge=None, embedder=FakeEmbedder(),
                    golden=golden_loader("none"))
    ingester = IngesterSettings(projects=[LangfuseProject(project_id="clinic-prod", host="http://lf",
                                                          public_key="pk", secret_key="sk")], poll_interval_s=1)
    runners = [ServiceRunner(build_ingester(settings, ingester, lambda p: FakeLangfuseReader(p.project_id)), settings),
               ServiceRunner(build_cleaner(settings), settings),
               ServiceRunner(build_dataset_builder(settings, dataset), settings),
               ServiceRunner(build_evaluator(settings, evaluator, wiring), settings),
               ServiceRunner(build_console(settings, ConsoleSettings(dead_letter_topics=["distillery.traces.raw.v1"])),
                             settings)]
    tasks = [asyncio.create_task(r.run()) for r in runners]
    yield runners
    for runner in runners:
        runner.stopping.set()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)


async def _is(value, expected) -> bool:
    return await value == expected


async def mentions(database_url: str, needle: str) -> dict[str, int]:
    """Rows of every table of the three services whose text holds ``needle``."""
    tables = await fetch_rows(database_url, "select table_schema, table_name from information_schema.tables "
                              f"where table_schema in {SCHEMAS!r} and table_type = 'BASE TABLE'")
    found = {}
    for row in tables:
        name = f"{row['table_schema']}.{row['table_name']}"
        hits = await fetch_value(database_url, f"select count(*) from {name} t where t::text like '%{needle}%'")
        if hits:
            found[name] = hits
    return found


async def sample_live_call(database_url: str, session: str, n: int) -> None:
    """A live call the evaluator sampled and scored (rows as its online worker leaves them)."""
    trace = sample_trace_captured(observation_id=f"obs-live-{n}", trace_id=f"tr-live-{n}", session_id=session)
    await fetch_value(database_url, "insert into evaluator.online_queue (observation_id, rollout_id, trace, "
                      "cause, status) values ($1, 'ro-1', $2, '{}', 'done') returning 1",
                      f"obs-live-{n}", trace.model_dump_json())
    await fetch_value(database_url, "insert into evaluator.online_scores (observation_id, rollout_id, arm, model, "
                      "scored, teacher_answer, findings, scored_at) values ($1, 'ro-1', 'candidate', 'm', $2, "
                      "'Your card ends 1111', '[]', now()) returning 1",
                      f"obs-live-{n}", json.dumps({"session_id": session, "trace_id": f"tr-live-{n}"}))


async def test_an_erased_session_is_in_no_table_and_no_new_dataset(services, broker, database_url):
    calls = list(synthetic_calls(24, turns=5))
    janes = [c for c in calls if c.lineage.session_id == JANE]
    await publish_events(broker.bootstrap, TRACES_RAW, [
        sample_trace_captured(observation_id=f"obs-{n}", trace_id=f"tr-{n}", session_id=session,
                              input_messages=[{"role": "user", "content": said}])
        for n, (session, said) in enumerate([(JANE, "Can I move my Tuesday appointment to Friday morning?"),
                                             ("call-000004", "Do you take walk-in patients on Saturdays?")])],
        producer="trace-ingester/0.1.0")
    assert await wait_until(lambda: _is(count_rows(database_url, "cleaner.examples"), 2), timeout=60)
    assert await wait_until(lambda: _is(count_rows(database_url, "dataset_builder.examples"), 2), timeout=60)
    # the synthetic calls come last: the builds take the newest cleaner configuration's examples
    await publish_events(broker.bootstrap, EXAMPLES_ACCEPTED, calls, producer="cleaner/0.1.0")
    [first] = await read_topic(broker.bootstrap, DATASETS_BUILT, expect=1, timeout=60, settle=0.2)
    # The console reads examples.accepted on its own: the erase must find Jane's there too
    # (one from the traces above, one per turn of her synthetic call).
    assert await wait_until(lambda: _is(fetch_value(
        database_url, "select count(*) from console.examples where session_id = $1", JANE), 1 + len(janes)),
        timeout=90)
    assert await wait_until(lambda: fetch_value(
        database_url, "select to_regclass('evaluator.online_scores') is not null"), timeout=60)
    assert await wait_until(lambda: fetch_value(
        database_url, "select to_regclass('trace_ingester.published') is not null"), timeout=60)
    await fetch_value(database_url, "insert into trace_ingester.published (project_id, observation_id, trace_id, "
                      "session_id, outcome) values ('clinic-prod', 'obs-0', 'tr-0', $1, 'published') returning 1",
                      JANE)
    await sample_live_call(database_url, JANE, 1)
    await sample_live_call(database_url, "call-000004", 2)
    before = await mentions(database_url, JANE)
    assert {"trace_ingester.published", "cleaner.examples", "dataset_builder.examples",
            "evaluator.online_queue", "evaluator.online_scores", "console.examples"} <= set(before)

    env = {"DISTILLERY_KAFKA_BOOTSTRAP": broker.bootstrap, "DISTILLERY_DATABASE_URL": database_url,
           "COLUMNS": "240"}
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["erase", "--session", JANE, "--timeout", "60"],
                                     env=env)

    assert result.exit_code == 0, result.output
    for store in ("trace-ingester.published", "cleaner.examples", "dataset-builder.examples",
                  "evaluator.online_queue"):
        assert store in result.output
    assert "ds-0001" in result.output, "the published dataset holding the caller is named"
    assert "Langfuse" in result.output and "Kafka" in result.output
    assert await mentions(database_url, JANE) == {}
    assert await mentions(database_url, "call-000004"), "another caller was erased too"
    kept = len(calls) - len(janes) + 1  # the cleaner's example of call-000004 reached the store too
    assert await count_rows(database_url, "dataset_builder.examples") == kept

    await publish_events(broker.bootstrap, "distillery.commands.dataset.v1",
                         [BuildDataset(target_size=1_000, requested_by="test")], producer="cli/0.1.0")
    built = await read_topic(broker.bootstrap, DATASETS_BUILT, expect=2, timeout=60, settle=0.2)
    assert len(built) == 2, "no second dataset"
    second = json.loads(built[1].value)
    lines = set()
    for name in ("train", "validation"):
        lines |= set(Path(urlparse(second["files"][name]["uri"]).path).read_text().splitlines())
    assert len(lines) == len(calls) - len(janes)
    assert not {training_line(c) for c in janes} & lines, "an erased caller reached a new dataset"
    assert json.loads(first.value)["dataset_id"] == "ds-0001"

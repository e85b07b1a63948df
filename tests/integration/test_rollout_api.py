"""The rollout-controller's read side over its real tables: the HTTP API and the CLI.

The tables are filled by the controller's own use cases (a rollout at its second stage,
with calls observed), without running the service, so these tests need no broker
except where the CLI publishes a command.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from kafka_helpers import read_topic
from starlette.applications import Starlette
from typer.testing import CliRunner

import distillery_rollout_controller
from distillery_cli.rollout import report_cmd, rollout_app
from distillery_contracts.commands import AdvanceRollout, PauseRollout
from distillery_contracts.registry import COMMANDS_ROLLOUT, all_topic_specs
from distillery_contracts.samples import sample_evaluation_completed
from distillery_rollout_controller.adapters.repository import SqlRolloutRepository
from distillery_rollout_controller.config import ControllerConfig
from distillery_rollout_controller.domain.observations import TrafficSample
from distillery_rollout_controller.http import api_routes
from distillery_rollout_controller.services import RolloutController
from distillery_router import HttpTableSource
from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.kafka import ensure_topics
from distillery_runtime.migrations import migrate
from distillery_runtime.signing import Keyring, SigningKey, write_key_file
from distillery_runtime.uow import FakeUnitOfWork

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
STUDENT = "ft:gpt-4o-mini-2024-07-18:clinic::s1"
SCHEMA = "rollout_controller"
MIGRATIONS = Path(distillery_rollout_controller.__file__).parent / "migrations"


@pytest.fixture
async def seeded(database_url) -> AsyncIterator[str]:
    """A database where ro-0001 is at its second stage (25%) and a day of traffic was seen."""
    engine = create_engine(database_url, SCHEMA)
    await migrate(engine, SCHEMA, MIGRATIONS)
    ana = SigningKey.generate("ana")
    controller = RolloutController(ControllerConfig(operators=Keyring([ana.trusted()])), clock=lambda: T0)
    async with session_factory(engine)() as session:
        repo, uow = SqlRolloutRepository(session), FakeUnitOfWork()
        await controller.start_rollout(repo, uow, sample_evaluation_completed(candidate_model=STUDENT))
        controller.clock = lambda: T0 + timedelta(hours=2)
        await controller.apply_command(repo, uow, ana.sign(AdvanceRollout(
            rollout_id="ro-0001", force=True, reason="canary looked fine", requested_by="ana")))
        await repo.record_traffic([TrafficSample("gpt-4.1", T0 + timedelta(minutes=m), 0.006, 1000, 500)
                                   for m in range(0, 24 * 60, 10)])
        await session.commit()
    await engine.dispose()
    yield database_url


@pytest.fixture
async def client(seeded) -> AsyncIterator[httpx.AsyncClient]:
    engine = create_engine(seeded, SCHEMA)
    app = Starlette(routes=list(api_routes(session_factory(engine), ControllerConfig(),
                                           lambda: T0 + timedelta(hours=3), route_cache_s=0)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://controller") as http:
        yield http
    await engine.dispose()


async def test_routes_endpoint_serves_the_table_with_its_version_as_etag(client):
    first = await client.get("/v1/routes/voice-agent")
    again = await client.get("/v1/routes/voice-agent", headers={"If-None-Match": first.headers["ETag"]})

    assert first.status_code == 200 and first.headers["ETag"] == '"3"'
    assert [(a["name"], a["weight"]) for a in first.json()["arms"]] == [("candidate", 25.0), ("teacher", 75.0)]
    assert again.status_code == 304


async def test_router_library_reads_the_endpoint_as_it_is_served(client):
    source = HttpTableSource("http://controller", client=client)

    table = await source.fetch("voice-agent")

    assert table.version == 3 and table.rollout_id == "ro-0001"
    assert await source.fetch("voice-agent") is None  # unchanged: 304


async def test_unknown_route_and_bad_query_get_clear_answers(client):
    missing = await client.get("/v1/routes/no-such-route")
    bad = await client.get("/v1/report", params={"calls_per_day": "lots"})

    assert missing.status_code == 404 and "no-such-route" in missing.json()["message"]
    assert bad.status_code == 400 and "calls_per_day" in bad.json()["message"]


async def test_rollouts_endpoint_shows_stage_weights_time_in_stage_and_decisions(client):
    status = (await client.get("/v1/rollouts")).json()
    detail = (await client.get("/v1/rollouts/ro-0001")).json()

    [live] = status["rollouts"]
    assert (live["status"], live["stage_index"], live["stage_percent"]) == ("active", 1, 25.0)
    assert live["seconds_in_stage"] == 3600 and live["last_decision"]["actor"] == "ana"
    assert [d["decision"] for d in detail["decisions"]] == ["started", "force_advanced"]
    assert status["costs"]["teacher_per_call_usd"] == pytest.approx(0.006)


async def test_report_projects_the_observed_volume(client):
    report = (await client.get("/v1/report")).json()

    assert report["volume_basis"] == "observed"
    assert report["calls_per_day"] == pytest.approx(144 / (1430 * 60) * 86_400)
    assert 0 < report["blended_per_call_usd"] < report["teacher_per_call_usd"]


def test_cli_status_reads_the_controllers_tables(seeded, monkeypatch):
    monkeypatch.setenv("DISTILLERY_DATABASE_URL", seeded)
    monkeypatch.delenv("DISTILLERY_ROLLOUT_URL", raising=False)

    result = CliRunner().invoke(rollout_app, ["status"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert "ro-0001  active  stage 2/5 (25%)" in result.output
    assert "force_advanced by ana" in result.output and "canary looked fine" in result.output


def test_cli_report_prints_costs_beside_the_seed_reference(seeded, monkeypatch):
    import typer

    monkeypatch.setenv("DISTILLERY_DATABASE_URL", seeded)
    app = typer.Typer()
    app.command()(report_cmd)

    result = CliRunner().invoke(app, ["--calls-per-day", "10000"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert "$0.00600" in result.output and "~$0.00600 (GPT-4.1)" in result.output
    assert "~$0.00180 (90/10 hybrid)" in result.output and "10,000 (given)" in result.output


def test_cli_pause_publishes_the_command_signed_as_the_operator(seeded, broker, monkeypatch, tmp_path):
    import asyncio

    asyncio.run(ensure_topics(broker.bootstrap, all_topic_specs()))
    monkeypatch.setenv("DISTILLERY_DATABASE_URL", seeded)
    monkeypatch.setenv("DISTILLERY_KAFKA_BOOTSTRAP", broker.bootstrap)
    monkeypatch.setenv("USER", "mallory")  # who the shell says is not who signs
    key = write_key_file(tmp_path / "ana.key", SigningKey.generate("on-call-ana"))
    monkeypatch.setenv("DISTILLERY_OPERATOR_KEY", str(key))

    result = CliRunner().invoke(rollout_app, ["pause", "--reason", "holiday traffic", "--wait", "0"])

    assert result.exit_code == 0, result.output
    [sent] = asyncio.run(read_topic(broker.bootstrap, COMMANDS_ROLLOUT, expect=1))
    body = json.loads(sent.value)
    assert sent.headers["event-type"] == "PauseRollout" and sent.key == "ro-0001"
    assert (body["rollout_id"], body["requested_by"], body["reason"]) == ("ro-0001", "on-call-ana",
                                                                          "holiday traffic")
    trusted = Keyring([SigningKey.load(key).trusted()])
    assert trusted.verify(PauseRollout.model_validate(body)).identity == "on-call-ana"


def test_cli_without_an_operator_key_sends_nothing_and_says_how_to_get_one(seeded, monkeypatch, tmp_path):
    monkeypatch.setenv("DISTILLERY_DATABASE_URL", seeded)
    monkeypatch.setenv("DISTILLERY_OPERATOR_KEY", str(tmp_path / "none.key"))

    result = CliRunner().invoke(rollout_app, ["pause", "--wait", "0"])

    assert result.exit_code == 2
    assert "none.key does not exist: create one with 'distillery keys generate'" in result.output


def test_cli_refuses_to_act_on_a_rollout_that_is_not_live(seeded, monkeypatch):
    monkeypatch.setenv("DISTILLERY_DATABASE_URL", seeded)

    result = CliRunner().invoke(rollout_app, ["resume", "ro-0042"])

    assert result.exit_code == 2
    assert "no rollout 'ro-0042'" in result.output


def test_cli_status_on_a_database_the_controller_never_migrated_says_how_to_create_its_tables(
        database_url, monkeypatch):
    monkeypatch.setenv("DISTILLERY_DATABASE_URL", database_url)
    monkeypatch.delenv("DISTILLERY_ROLLOUT_URL", raising=False)

    result = CliRunner().invoke(rollout_app, ["status"], env={"COLUMNS": "200"})

    assert result.exit_code == 2
    assert "no rollout-controller tables yet" in result.output
    assert "distillery migrate rollout-controller" in result.output

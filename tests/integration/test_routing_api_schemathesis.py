"""schemathesis against the rollout-controller's routing API, from its OpenAPI document
(routing_api.openapi.yaml beside http.py), over its real tables: a table in force for
voice-agent and a rollout with decisions. Whatever a schema-driven client asks, the API
answers as documented and never with a server error. The app runs in this process (uvicorn in
a thread, so its database engine lives on one event loop)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import hypothesis
import pytest
import schemathesis
import uvicorn
from starlette.applications import Starlette

import distillery_rollout_controller
from distillery_cli.localstack.procs import free_port
from distillery_contracts.samples import sample_evaluation_completed
from distillery_rollout_controller.adapters.repository import SqlRolloutRepository
from distillery_rollout_controller.config import ControllerConfig
from distillery_rollout_controller.http import api_routes
from distillery_rollout_controller.services import RolloutController
from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.migrations import migrate
from distillery_runtime.uow import FakeUnitOfWork

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SCHEMA = "rollout_controller"
PACKAGE = Path(distillery_rollout_controller.__file__).parent
API = schemathesis.openapi.from_path(PACKAGE / "routing_api.openapi.yaml")


@pytest.fixture(scope="module")
async def seeded_url(postgres_server_url) -> AsyncIterator[str]:
    from db_helpers import create_database, drop_database

    url = await create_database(postgres_server_url)
    engine = create_engine(url, SCHEMA)
    await migrate(engine, SCHEMA, PACKAGE / "migrations")
    controller = RolloutController(ControllerConfig(), clock=lambda: T0)
    async with session_factory(engine)() as session:
        await controller.start_rollout(SqlRolloutRepository(session), FakeUnitOfWork(),
                                       sample_evaluation_completed(candidate_model="ft:gpt-4o-mini:clinic::s1"))
        await session.commit()
    await engine.dispose()
    yield url
    await drop_database(url)


@pytest.fixture(scope="module")
def controller_url(seeded_url) -> Iterator[str]:
    """The routing API on a free port, served by uvicorn in a thread of this process."""
    port = free_port()
    state: dict[str, object] = {}

    def serve() -> None:
        async def main() -> None:
            engine = create_engine(seeded_url, SCHEMA)
            app = Starlette(routes=list(api_routes(session_factory(engine), ControllerConfig(),
                                                   lambda: T0 + timedelta(hours=1), route_cache_s=0)))
            server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
            state["server"] = server
            try:
                await server.serve()
            finally:
                await engine.dispose()
        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not getattr(state.get("server"), "started", False):
        assert time.monotonic() < deadline, "the routing API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    state["server"].should_exit = True  # type: ignore[union-attr]
    thread.join(timeout=10)


@API.parametrize()
@hypothesis.settings(max_examples=25, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_the_routing_api_answers_as_documented_and_never_a_server_error(case, controller_url):
    case.call_and_validate(base_url=controller_url)


@pytest.mark.parametrize(("path", "params"), [
    ("/v1/rollouts", {"limit": str(10**33)}), ("/v1/rollouts", {"limit": "1001"}),
    ("/v1/report", {"calls_per_day": "1.4936e+308"}), ("/v1/report", {"calls_per_day": "nan"}),
    ("/v1/report", {"calls_per_day": "inf"})], ids=["limit-beyond-int64", "limit-over-max", "volume-huge",
                                                   "volume-nan", "volume-inf"])
def test_query_numbers_schemathesis_found_answering_500_are_refused_with_a_400(controller_url, path, params):
    import httpx

    response = httpx.get(controller_url + path, params=params, timeout=10)
    assert response.status_code == 400, response.text
    assert "positive number up to" in response.json()["message"]

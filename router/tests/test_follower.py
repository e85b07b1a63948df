"""RoutingTableFollower over HTTP: follows the controller, survives its failures and restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from distillery_router import RouteTable, Router, RoutingTableFollower
from routing_api import BASE_URL, ROUTE, Eventually, FakeRoutingApi, TableFactory, follower_for


async def test_routes_with_the_table_the_controller_serves(
    api: FakeRoutingApi, router: Router, table_of: TableFactory
) -> None:
    api.serve(table_of(version=1, student=100))

    async with follower_for(api, router):
        assert router.choose(ROUTE, "call-1").name == "student"
    assert str(api.requests[0].url) == f"{BASE_URL}/v1/routes/voice-agent"


@pytest.mark.parametrize(
    "failure", [503, httpx.ConnectError("connection refused")], ids=["http-503", "unreachable"]
)
async def test_keeps_the_last_table_when_the_endpoint_fails(
    api: FakeRoutingApi, router: Router, table_of: TableFactory, failure: int | Exception
) -> None:
    api.serve(table_of(version=3, student=75, teacher=25))

    async with follower_for(api, router) as follower:
        api.failure = failure
        assert await follower.refresh() == 0

        assert router.table(ROUTE).version == 3
        assert router.choose(ROUTE, "call-1").name in {"student", "teacher"}
        assert follower.last_error is not None and "voice-agent" in follower.last_error


async def test_ignores_an_older_version_from_a_lagging_controller(
    api: FakeRoutingApi, router: Router, table_of: TableFactory
) -> None:
    api.serve(table_of(version=3, student=75, teacher=25))

    async with follower_for(api, router) as follower:
        api.serve(table_of(version=2, student=10, teacher=90))
        assert await follower.refresh() == 0

    assert router.table(ROUTE).version == 3
    assert router.table(ROUTE).arm("student").weight == 75


async def test_sends_the_etag_back_and_keeps_the_table_on_not_modified(
    api: FakeRoutingApi, router: Router, table_of: TableFactory
) -> None:
    api.serve(table_of(version=1, student=10, teacher=90))

    async with follower_for(api, router) as follower:
        assert await follower.refresh() == 0

    first, second = api.requests
    assert "If-None-Match" not in first.headers
    assert second.headers["If-None-Match"].startswith('"')
    assert router.table(ROUTE).version == 1


async def test_an_invalid_table_is_not_applied_and_the_error_says_why(
    api: FakeRoutingApi, router: Router, table_of: TableFactory
) -> None:
    api.serve(table_of(version=1, student=10, teacher=90))

    async with follower_for(api, router) as follower:
        api.bodies[ROUTE] = api.bodies[ROUTE].replace(b'"weight":90.0', b'"weight":95.0')
        await follower.refresh()

        assert "weights must sum to 100" in follower.last_error
    assert router.table(ROUTE).arm("teacher").weight == 90


async def test_polls_in_the_background_and_picks_up_a_new_version(
    api: FakeRoutingApi, router: Router, table_of: TableFactory, eventually: Eventually
) -> None:
    api.serve(table_of(version=1, student=10, teacher=90))

    async with follower_for(api, router, poll_interval=0.01):
        api.serve(table_of(version=2, student=25, teacher=75))
        await eventually(lambda: router.table(ROUTE).version == 2)
    requests_at_stop = len(api.requests)
    await asyncio.sleep(0.05)

    assert len(api.requests) == requests_at_stop


async def test_a_route_not_published_yet_becomes_available_when_it_is(
    api: FakeRoutingApi, router: Router, table_of: TableFactory, eventually: Eventually
) -> None:
    async with follower_for(api, router, poll_interval=0.01) as follower:
        assert router.table(ROUTE) is None and "404" in follower.last_error
        api.serve(table_of(version=1, teacher=100))
        await eventually(lambda: router.table(ROUTE) is not None)
        await eventually(lambda: follower.last_error is None)


async def test_restores_the_saved_table_after_a_restart_while_the_controller_is_down(
    api: FakeRoutingApi, table_of: TableFactory, tmp_path: Path
) -> None:
    state = tmp_path / "routes.json"
    api.serve(table_of(version=4, student=90, teacher=10))
    async with follower_for(api, Router(), state_file=state):
        pass

    api.failure = httpx.ConnectError("connection refused")
    restarted = Router()
    async with follower_for(api, restarted, state_file=state):
        assert restarted.table(ROUTE).version == 4
        assert restarted.table(ROUTE).arm("student").weight == 90


async def test_an_unreadable_state_file_is_ignored_and_then_replaced(
    api: FakeRoutingApi, router: Router, table_of: TableFactory, tmp_path: Path
) -> None:
    state = tmp_path / "routes.json"
    state.write_text("{not json")
    api.serve(table_of(version=1, teacher=100))

    async with follower_for(api, router, state_file=state):
        assert router.table(ROUTE).version == 1

    assert '"version": 1' in state.read_text()


def test_refuses_to_start_without_any_source() -> None:
    with pytest.raises(ValueError, match="give base_url"):
        RoutingTableFollower(Router(), routes=[ROUTE])


def test_refuses_http_polling_without_routes() -> None:
    with pytest.raises(ValueError, match="needs the routes to follow"):
        RoutingTableFollower(Router(), base_url=BASE_URL)

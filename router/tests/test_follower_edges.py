"""RoutingTableFollower at its edges: which tables it takes, what it sends, what it tells operators.

The follower decides which weights the voice platform routes calls by, so each of its rules is
pinned here: a route it does not follow, a tampered state file, a failing route beside a
working one, the bearer token, the start/stop life cycle and the log lines operators watch.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import httpx
import pytest

import distillery_router.follower as follower_module
from distillery_router import Router, RoutingTableFollower
from distillery_router.http_source import HttpTableSource, TableUnavailable
from routing_api import BASE_URL, ROUTE, FakeRoutingApi, FakeTableConsumer, TableFactory, follower_for, record_of
from test_table_signatures import IMPOSTOR, KEYS, signed

OTHER = "billing-agent"


async def test_a_table_of_a_route_not_followed_is_not_applied(
    api: FakeRoutingApi, router: Router, table_of: TableFactory
) -> None:
    async with follower_for(api, router) as follower:
        assert await follower.apply(table_of(route=OTHER, version=1, student=100)) is False
        assert await follower.apply(table_of(version=1, student=100)) is True
    assert router.table(OTHER) is None and router.table(ROUTE).version == 1


async def test_a_follower_of_no_named_route_takes_every_route_from_the_topic(table_of: TableFactory) -> None:
    router = Router()
    consumer = FakeTableConsumer([record_of(table_of(version=1, teacher=100), 0),
                                  record_of(table_of(route=OTHER, version=2, teacher=100), 1)])
    async with RoutingTableFollower(router, kafka_consumer_factory=lambda: consumer):
        for _ in range(100):
            if router.table(OTHER) is not None:
                break
            await asyncio.sleep(0.01)
    assert (router.table(ROUTE).version, router.table(OTHER).version) == (1, 2)
    assert consumer.events == ["start", "stop"]  # a follower with no HTTP source stops cleanly


async def test_a_forged_table_in_the_state_file_is_not_restored(
    api: FakeRoutingApi, table_of: TableFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "routes.json"
    api.serve(signed(table_of(version=4, student=10, teacher=90)))
    async with follower_for(api, Router(), state_file=state, table_keys=KEYS) as first:
        assert first.refused == 0  # the controller's own table, saved to the state file
    document = json.loads(state.read_text())
    forged = signed(table_of(version=9, student=100, teacher=0), IMPOSTOR)
    document["tables"] = [forged.model_dump(mode="json")]
    state.write_text(json.dumps(document))

    api.failure = httpx.ConnectError("connection refused")
    restarted = Router()
    with caplog.at_level(logging.WARNING):
        async with follower_for(api, restarted, state_file=state, table_keys=KEYS) as follower:
            assert restarted.table(ROUTE) is None and follower.refused == 1
    assert [r.getMessage().split(": ")[0] for r in caplog.records if r.name == "distillery_router.follower"] == [
        "refused a routing table, keeping the last good one", "routing API unreachable, keeping last tables"]


async def test_one_failing_route_does_not_keep_the_others_from_refreshing(
    api: FakeRoutingApi, table_of: TableFactory
) -> None:
    router = Router()
    api.serve(table_of(route=OTHER, version=1, teacher=100))
    follower = RoutingTableFollower(router, routes=[ROUTE, OTHER], base_url=BASE_URL, http_client=api.client(),
                                    poll_interval=60)
    async with follower:  # the first route is not published yet: a 404
        assert router.table(OTHER).version == 1
        assert follower.last_error == f"GET {BASE_URL}/v1/routes/{ROUTE} answered 404: " \
                                      f'{{"detail":"no route {ROUTE}"}}'
        api.serve(table_of(version=1, teacher=100))
        api.serve(table_of(route=OTHER, version=2, teacher=100))
        assert await follower.refresh() == 2
        assert follower.last_error is None


async def test_the_error_names_every_failing_route(api: FakeRoutingApi, table_of: TableFactory,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    follower = RoutingTableFollower(Router(), routes=[ROUTE, OTHER], base_url=BASE_URL, http_client=api.client(),
                                    poll_interval=60)
    assert follower.last_refresh_at is None and follower.last_error is None
    both = "; ".join(f'GET {BASE_URL}/v1/routes/{r} answered 404: {{"detail":"no route {r}"}}' for r in (ROUTE, OTHER))
    with caplog.at_level(logging.WARNING, logger="distillery_router.follower"):
        async with follower:
            assert follower.last_error == both
    assert follower.last_refresh_at is None
    assert caplog.records[-1].getMessage() == f"routing API unreachable, keeping last tables: {both}"


async def test_a_long_error_page_is_cut_to_200_characters(api: FakeRoutingApi, router: Router) -> None:
    def long_page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>" + "x" * 500)

    source = HttpTableSource(BASE_URL, client=httpx.AsyncClient(transport=httpx.MockTransport(long_page)))
    with pytest.raises(TableUnavailable) as unavailable:
        await source.fetch(ROUTE)
    assert str(unavailable.value) == f"GET {BASE_URL}/v1/routes/{ROUTE} answered 502: " + ("<html>" + "x" * 194)


def test_the_request_timeout_reaches_the_client_the_follower_makes() -> None:
    follower = RoutingTableFollower(Router(), routes=[ROUTE], base_url=BASE_URL, request_timeout=0.5)
    assert follower._http is not None and follower._http._client.timeout == httpx.Timeout(0.5)


async def test_operators_are_told_once_when_the_api_goes_and_once_when_it_comes_back(
    api: FakeRoutingApi, router: Router, table_of: TableFactory, caplog: pytest.LogCaptureFixture
) -> None:
    api.serve(table_of(version=1, student=100))
    async with follower_for(api, router) as follower:
        refreshed = follower.last_refresh_at
        assert refreshed is not None and refreshed.tzinfo is not None
        api.failure = 503
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="distillery_router.follower"):
            for _ in range(3):
                await follower.refresh()
            assert follower.last_refresh_at == refreshed  # a failed poll is no refresh
            api.failure = None
            await follower.refresh()
            await follower.refresh()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [f"routing API unreachable, keeping last tables: GET {BASE_URL}/v1/routes/{ROUTE} "
                        "answered 503: controller unavailable", "routing API reachable again"]
    assert follower.last_refresh_at > refreshed


async def test_each_applied_table_is_logged_with_its_weights(
    api: FakeRoutingApi, router: Router, table_of: TableFactory, caplog: pytest.LogCaptureFixture
) -> None:
    api.serve(table_of(version=3, student=75, teacher=25))
    with caplog.at_level(logging.INFO, logger="distillery_router.follower"):
        async with follower_for(api, router):
            assert router.table(ROUTE).version == 3
    assert [r.getMessage() for r in caplog.records] == [
        "routing tables are applied unverified: give table_keys (the rollout-controller's public key) so that a "
        "forged table cannot steer traffic",
        "routing table applied: route=voice-agent version=3 weights={'student': 75.0, 'teacher': 25.0}"]


async def test_the_answer_for_another_route_is_refused_with_both_names(
    api: FakeRoutingApi, router: Router, table_of: TableFactory
) -> None:
    api.bodies[ROUTE] = table_of(route=OTHER, version=1, teacher=100).model_dump_json().encode()
    async with follower_for(api, router) as follower:
        assert follower.last_error == f"asked for route {ROUTE!r}, the endpoint answered {OTHER!r}"
    assert router.table(ROUTE) is None and router.table(OTHER) is None


async def test_the_bearer_token_and_json_are_asked_for_on_every_request(api: FakeRoutingApi,
                                                                        table_of: TableFactory) -> None:
    api.serve(table_of(version=1, student=100))
    async with follower_for(api, Router(), api_token="tok-1") as follower:
        await follower.refresh()
    assert [(r.headers.get("Authorization"), r.headers.get("Accept")) for r in api.requests] == [
        ("Bearer tok-1", "application/json")] * 2
    async with follower_for(api, Router()) as anonymous:
        assert anonymous.last_error is None
    assert "Authorization" not in api.requests[-1].headers


@pytest.mark.parametrize(("base_url", "route", "url"), [
    ("http://controller:8080/", ROUTE, "http://controller:8080/v1/routes/voice-agent"),
    ("https://controller", "eu/voice agent", "https://controller/v1/routes/eu%2Fvoice%20agent"),
    ("http://lb/routing-X/", ROUTE, "http://lb/routing-X/v1/routes/voice-agent"),  # only the slash goes
])
def test_the_url_of_a_route(base_url: str, route: str, url: str) -> None:
    assert HttpTableSource(base_url, client=httpx.AsyncClient()).url_for(route) == url


def test_only_an_http_address_is_a_base_url() -> None:
    with pytest.raises(ValueError, match=r"^base_url must be an http\(s\) URL, got 'controller:8080'$"):
        HttpTableSource("controller:8080")


async def test_the_source_closes_the_client_it_made_and_never_one_it_was_given() -> None:
    given = httpx.AsyncClient()
    await HttpTableSource(BASE_URL, client=given).aclose()
    assert not given.is_closed
    own = HttpTableSource(BASE_URL, timeout=0.5)
    assert own._client.timeout == httpx.Timeout(0.5)
    await own.aclose()
    assert own._client.is_closed
    await given.aclose()


async def test_an_unreachable_controller_is_a_table_unavailable_naming_the_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    source = HttpTableSource(BASE_URL, client=httpx.AsyncClient(transport=httpx.MockTransport(refuse)))
    with pytest.raises(TableUnavailable, match=f"^GET {BASE_URL}/v1/routes/{ROUTE} failed: ConnectError"):
        await source.fetch(ROUTE)


@pytest.mark.parametrize("interval", [0, -1.0])
def test_the_poll_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError, match=f"^poll_interval must be positive, got {interval}$"):
        RoutingTableFollower(Router(), routes=[ROUTE], base_url=BASE_URL, poll_interval=interval)


def test_a_follower_without_a_source_or_without_routes_to_poll_says_what_to_give() -> None:
    with pytest.raises(ValueError, match=r"^give base_url \(controller HTTP API\), kafka_bootstrap, or both$"):
        RoutingTableFollower(Router(), routes=[ROUTE])
    with pytest.raises(ValueError, match=r"^polling the HTTP API needs the routes to follow, "
                                         r"e\.g\. routes=\['voice-agent'\]$"):
        RoutingTableFollower(Router(), base_url=BASE_URL)


def test_refresh_needs_the_http_api() -> None:
    consumer = FakeTableConsumer([])
    follower = RoutingTableFollower(Router(), kafka_consumer_factory=lambda: consumer)
    with pytest.raises(RuntimeError, match=r"^refresh\(\) needs base_url$"):
        asyncio.run(follower.refresh())


async def test_a_follower_starts_once(api: FakeRoutingApi, router: Router, table_of: TableFactory) -> None:
    api.serve(table_of(version=1, student=100))
    follower = follower_for(api, router)
    async with follower:
        with pytest.raises(RuntimeError, match="^a follower starts once; create a new one to follow again$"):
            await follower.start()
    with pytest.raises(RuntimeError, match="starts once"):
        await follower.start()  # nor again after it stopped


async def test_polls_are_spread_by_a_tenth_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[float, float]] = []
    slept: list[float] = []

    def uniform(low: float, high: float) -> float:
        asked.append((low, high))
        return high

    async def sleep(delay: float) -> None:
        slept.append(delay)
        raise asyncio.CancelledError

    monkeypatch.setattr(follower_module.random, "uniform", uniform)
    monkeypatch.setattr(follower_module.asyncio, "sleep", sleep)
    follower = RoutingTableFollower(Router(), routes=[ROUTE], base_url=BASE_URL, poll_interval=4.0)
    with pytest.raises(asyncio.CancelledError):
        await follower._poll_forever()
    assert asked == [(0.9, 1.1)] and slept == [pytest.approx(4.4)]


async def test_a_state_file_that_cannot_be_written_does_not_stop_the_polling(
    api: FakeRoutingApi, router: Router, table_of: TableFactory, tmp_path: Path,
    eventually, caplog: pytest.LogCaptureFixture,  # noqa: ANN001
) -> None:
    folder = tmp_path / "state"
    api.serve(table_of(version=1, student=100))
    async with follower_for(api, router, state_file=folder / "routes.json", poll_interval=0.01):
        (folder / "routes.json").unlink()
        folder.rmdir()
        folder.write_text("a file where the folder was: saving fails")
        with caplog.at_level(logging.ERROR):
            api.serve(table_of(version=2, student=100))
            await eventually(lambda: any(r.getMessage() == "routing table poll failed" for r in caplog.records))
            api.serve(table_of(version=3, student=100))
            await eventually(lambda: router.table(ROUTE).version == 3)


async def test_a_table_from_the_topic_that_cannot_be_saved_is_logged_and_the_next_one_still_applied(
    table_of: TableFactory, tmp_path: Path, eventually, caplog: pytest.LogCaptureFixture,  # noqa: ANN001
) -> None:
    folder = tmp_path / "state"
    folder.write_text("a file where the folder should be: saving fails")
    router = Router()
    consumer = FakeTableConsumer([record_of(table_of(version=1, teacher=100), 0),
                                  record_of(table_of(version=2, student=100), 1)])
    with caplog.at_level(logging.ERROR):
        async with RoutingTableFollower(router, kafka_consumer_factory=lambda: consumer,
                                        state_file=folder / "routes.json"):
            await eventually(lambda: router.table(ROUTE) is not None and router.table(ROUTE).version == 2)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        f"could not apply routing table for route {ROUTE}"] * 2


def test_the_topic_source_follows_the_named_routes_on_the_named_topic() -> None:
    follower = RoutingTableFollower(Router(), routes=[ROUTE], kafka_bootstrap="broker:9092", kafka_topic="routes.v9")
    assert follower._kafka is not None
    assert (follower._kafka.topic, follower._kafka.routes) == ("routes.v9", frozenset({ROUTE}))
    every = RoutingTableFollower(Router(), kafka_bootstrap="broker:9092")
    assert every._kafka is not None and every._kafka.routes is None and every._http is None


def test_by_default_a_follower_polls_every_five_seconds_and_waits_two_for_an_answer() -> None:
    follower = RoutingTableFollower(Router(), routes=[ROUTE], base_url=BASE_URL)
    assert follower.poll_interval == 5.0
    assert follower._http is not None and follower._http._client.timeout == httpx.Timeout(2.0)
    assert HttpTableSource(BASE_URL)._client.timeout == httpx.Timeout(2.0)


async def test_the_background_tasks_are_named_for_a_task_dump(api: FakeRoutingApi, table_of: TableFactory) -> None:
    api.serve(table_of(version=1, student=100))
    consumer = FakeTableConsumer([])
    follower = RoutingTableFollower(Router(), routes=[ROUTE], base_url=BASE_URL, http_client=api.client(),
                                    kafka_consumer_factory=lambda: consumer, poll_interval=60)
    async with follower:
        assert {t.get_name() for t in asyncio.all_tasks()} >= {"routing-http-poll", "routing-topic"}

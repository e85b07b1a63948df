"""Following the compacted routing topic, with a fake consumer standing in for aiokafka."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from distillery_router import KafkaTableSource, RouteTable, Router, RoutingTableFollower
from routing_api import FakeTableConsumer, Record, record_of

TableFactory = Callable[..., RouteTable]
ROUTE = "voice-agent"


async def first_tables(source: KafkaTableSource, count: int) -> list[RouteTable]:
    tables: list[RouteTable] = []
    async for table in source.tables():
        tables.append(table)
        if len(tables) == count:
            return tables
    raise AssertionError("source ended")


async def test_yields_the_followed_routes_and_skips_what_cannot_be_applied(
    table_of: TableFactory,
) -> None:
    records = [
        record_of(table_of(version=1, student=10, teacher=90), offset=0),
        record_of(table_of(route="billing", version=1, teacher=100), offset=1),
        Record(ROUTE.encode(), b'{"route": "voice-agent", "arms": []}', offset=2),
        Record(ROUTE.encode(), None, offset=3),
        record_of(table_of(version=9, teacher=100), offset=4, event_type="SomethingElse"),
        record_of(table_of(version=2, student=25, teacher=75), offset=5),
    ]
    consumer = FakeTableConsumer(records)
    source = KafkaTableSource(routes=[ROUTE], consumer_factory=lambda: consumer)

    tables = await asyncio.wait_for(first_tables(source, 2), timeout=2)

    assert [(t.route, t.version) for t in tables] == [(ROUTE, 1), (ROUTE, 2)]


async def test_follows_every_route_when_none_is_named(table_of: TableFactory) -> None:
    records = [
        record_of(table_of(version=1, teacher=100), offset=0),
        record_of(table_of(route="billing", version=1, teacher=100), offset=1),
    ]
    source = KafkaTableSource(consumer_factory=lambda: FakeTableConsumer(records))

    tables = await asyncio.wait_for(first_tables(source, 2), timeout=2)

    assert {t.route for t in tables} == {ROUTE, "billing"}


async def test_reconnects_with_backoff_after_the_broker_is_unreachable(
    table_of: TableFactory,
) -> None:
    consumers = [
        FakeTableConsumer([], fail_on_start=ConnectionError("broker down")),
        FakeTableConsumer([record_of(table_of(version=1, teacher=100), offset=0)]),
    ]
    handed_out = iter(consumers)
    source = KafkaTableSource(consumer_factory=lambda: next(handed_out), retry_initial_s=0.01)

    tables = await asyncio.wait_for(first_tables(source, 1), timeout=2)

    assert tables[0].version == 1
    assert consumers[0].events == ["start", "stop"]


async def test_an_older_table_on_the_topic_does_not_replace_a_newer_one_from_http(
    table_of: TableFactory,
) -> None:
    newer = table_of(version=5, student=90, teacher=10)
    api = httpx.MockTransport(lambda request: httpx.Response(200, content=newer.model_dump_json()))
    consumer = FakeTableConsumer([record_of(table_of(version=3, student=50, teacher=50), offset=0)])
    router = Router()

    async with RoutingTableFollower(
        router, routes=[ROUTE], base_url="http://controller:8080", poll_interval=60,
        http_client=httpx.AsyncClient(transport=api), kafka_consumer_factory=lambda: consumer,
    ):
        await asyncio.sleep(0.05)
        assert consumer.events == ["start"]

    assert router.table(ROUTE).version == 5
    assert consumer.events == ["start", "stop"]


def test_needs_a_bootstrap_address_or_a_consumer() -> None:
    with pytest.raises(ValueError, match="needs a bootstrap address"):
        KafkaTableSource()


async def test_a_record_whose_key_is_not_utf8_is_skipped_without_reconnecting(table_of: TableFactory) -> None:
    records = [
        record_of(table_of(version=1, student=10, teacher=90), offset=0),
        Record(b"\xff\xfevoice", table_of(version=7, teacher=100).model_dump_json().encode(), offset=1),
        Record(ROUTE.encode(), b"\xff\xfe not json", offset=2),
        record_of(table_of(version=2, student=25, teacher=75), offset=3),
    ]
    consumer = FakeTableConsumer(records)
    source = KafkaTableSource(routes=[ROUTE], consumer_factory=lambda: consumer, retry_initial_s=0.01)

    tables = await asyncio.wait_for(first_tables(source, 2), timeout=2)

    assert [t.version for t in tables] == [1, 2]
    assert consumer.events.count("start") == 1


async def test_a_record_that_breaks_decoding_is_skipped_without_reconnecting(table_of: TableFactory) -> None:
    odd = Record(ROUTE.encode(), table_of(version=5, teacher=100).model_dump_json().encode(), offset=1,
                 headers=(("event-type",),))  # type: ignore[arg-type]  # a header that is no pair
    consumer = FakeTableConsumer([odd, record_of(table_of(version=6, teacher=100), offset=2)])
    source = KafkaTableSource(consumer_factory=lambda: consumer, retry_initial_s=0.01)

    tables = await asyncio.wait_for(first_tables(source, 1), timeout=2)

    assert [t.version for t in tables] == [6]
    assert consumer.events.count("start") == 1


async def test_the_source_keeps_trying_when_a_consumer_cannot_even_be_created(table_of: TableFactory) -> None:
    created: list[FakeTableConsumer] = []

    def factory() -> FakeTableConsumer:
        if not created:
            created.append(FakeTableConsumer([]))
            raise ValueError("bootstrap address does not resolve yet")
        consumer = FakeTableConsumer([record_of(table_of(version=3, teacher=100), offset=0)])
        created.append(consumer)
        return consumer

    source = KafkaTableSource(consumer_factory=factory, retry_initial_s=0.01)

    tables = await asyncio.wait_for(first_tables(source, 1), timeout=2)

    assert tables[0].version == 3


async def test_the_router_gets_the_tables_published_after_a_poisoned_record(table_of: TableFactory) -> None:
    records = [Record(b"\xc3\x28", b"{}", offset=0), record_of(table_of(version=4, student=40, teacher=60), offset=1)]
    router = Router()

    async with RoutingTableFollower(router, kafka_consumer_factory=lambda: FakeTableConsumer(records)):
        for _ in range(100):
            if router.tables():
                break
            await asyncio.sleep(0.01)

    assert router.table(ROUTE).version == 4

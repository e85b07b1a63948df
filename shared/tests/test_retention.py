"""How long the inbox keeps each consumer's rows, and the pruning loop's batches, without a database
(tests/integration/test_runtime_retention.py deletes real rows)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from distillery_contracts.commands import RunEvaluation
from distillery_contracts.registry import COMMANDS_EVAL, ROUTING_TABLE, TRACES_RAW, get_topic
from distillery_contracts.routing import RouteTableUpdated
from distillery_contracts.traces import TraceCaptured
from distillery_runtime.consumer import Subscription
from distillery_runtime.retention import InboxRetention, pruning_worker
from distillery_runtime.service import ServiceContext
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import FakeUnitOfWork

MARGIN = timedelta(days=14)


async def on_traces(uow, deliveries) -> None: ...
async def on_routes(uow, deliveries) -> None: ...
async def on_commands(uow, deliveries) -> None: ...


def subscription(topic: str, event: type, handler, consumer: str = "") -> Subscription:
    return Subscription(get_topic(topic), event, handler, consumer=consumer)


def test_a_consumer_keeps_its_rows_as_long_as_the_broker_keeps_its_topic_and_a_margin_more() -> None:
    retention = InboxRetention.of([subscription(TRACES_RAW, TraceCaptured, on_traces),
                                   subscription(COMMANDS_EVAL, RunEvaluation, on_commands)], MARGIN)

    assert retention.keep("on_traces") == timedelta(days=30) + MARGIN
    assert retention.keep("on_commands") == timedelta(days=7) + MARGIN


def test_rows_of_a_topic_kept_for_ever_are_kept_for_ever() -> None:
    retention = InboxRetention.of([subscription(ROUTING_TABLE, RouteTableUpdated, on_routes)], MARGIN)

    assert retention.keep("on_routes") is None


def test_rows_of_a_consumer_the_service_no_longer_runs_are_kept_as_long_as_the_longest_kept() -> None:
    retention = InboxRetention.of([subscription(TRACES_RAW, TraceCaptured, on_traces),
                                   subscription(COMMANDS_EVAL, RunEvaluation, on_commands),
                                   subscription(ROUTING_TABLE, RouteTableUpdated, on_routes)], MARGIN)

    assert retention.keep("on_traces_raw@previous-version") == timedelta(days=30) + MARGIN
    assert InboxRetention.of([], MARGIN).keep("anything") == MARGIN


def test_a_consumer_reading_two_topics_keeps_its_rows_for_the_longer() -> None:
    short_first = InboxRetention.of([subscription(COMMANDS_EVAL, RunEvaluation, on_commands, "shared"),
                                     subscription(TRACES_RAW, TraceCaptured, on_traces, "shared")], MARGIN)
    for_ever = InboxRetention.of([subscription(ROUTING_TABLE, RouteTableUpdated, on_routes, "shared"),
                                  subscription(TRACES_RAW, TraceCaptured, on_traces, "shared")], MARGIN)

    assert short_first.keep("shared") == timedelta(days=30) + MARGIN
    assert for_ever.keep("shared") is None


async def test_a_backlog_goes_in_batches_each_committed_on_its_own_until_one_comes_back_short() -> None:
    backlog = list(range(25))
    uows: list[FakeUnitOfWork] = []
    stopping = asyncio.Event()

    def new_uow() -> FakeUnitOfWork:
        uows.append(FakeUnitOfWork())
        return uows[-1]

    async def prune(uow: FakeUnitOfWork, limit: int) -> int:
        taken = backlog[:limit]
        del backlog[:limit]
        if not taken:
            stopping.set()
        return len(taken)

    ctx = ServiceContext(name="test", settings=RuntimeSettings(), engine=None,  # type: ignore[arg-type]
                         sessions=None, new_uow=new_uow, broker=None, stopping=stopping)  # type: ignore[arg-type]
    settings = RuntimeSettings(retention_batch_size=10, retention_interval_s=0.01)

    await asyncio.wait_for(pruning_worker("prune_test", prune, settings).run(ctx), 2)

    assert backlog == []
    # 10, 10, then 5 (short: the loop waits its interval), then 0 (this test stops it).
    assert [u.commits for u in uows] == [1, 1, 1, 1]

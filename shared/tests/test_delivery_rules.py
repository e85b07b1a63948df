"""The delivery rules at their edges: how often and how long a failing message is retried, what its
dead letter carries, what operators see (metrics, log lines), and which errors are the database's.

``test_consumer.py`` shows each rule once; here each is pinned where a changed count, exponent or
field would show: the retry schedule, the attempts a letter reports, duplicates inside one batch,
the inbox's consumer name, a letter's bytes that are not UTF-8, and the metrics alerts read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno

import pytest
from prometheus_client import REGISTRY
from runtime_records import raw_record
from sqlalchemy.exc import DBAPIError, OperationalError
from structlog.testing import capture_logs

import distillery_runtime.consumer as consumer_module
from distillery_contracts.registry import TRACES_RAW, get_topic
from distillery_contracts.samples import sample_trace_captured
from distillery_contracts.traces import TraceCaptured, TraceScored
from distillery_runtime.consumer import BatchProcessor, Delivery, Subscription, delivery_of
from distillery_runtime.deadletter import FakeDeadLetterSink
from distillery_runtime.errors import PermanentError
from distillery_runtime.infra import is_infrastructure_error
from distillery_runtime.uow import FakeUnitOfWork

SERVICE = "delivery-rules"
GROUP = "distillery.rules"


def record(offset: int, observation_id: str | None = None, **changes: object):  # noqa: ANN201
    base = raw_record(sample_trace_captured(observation_id=observation_id or f"obs-{offset}"), offset)
    return dataclasses.replace(base, **changes) if changes else base


class Failing:
    """A handler failing on chosen observations, each a chosen number of times (None: always)."""

    __name__ = "apply_traces"

    def __init__(self, errors: dict[str, BaseException], times: int | None = None) -> None:
        self.errors, self.times = errors, times
        self.failures: dict[str, int] = {}
        self.applied: list[list[str]] = []
        self.calls = 0

    async def __call__(self, uow: object, deliveries: list[Delivery[TraceCaptured]]) -> None:
        self.calls += 1
        for d in deliveries:
            error = self.errors.get(d.event.observation_id)
            done = self.failures.get(d.event.observation_id, 0)
            if error is not None and (self.times is None or done < self.times):
                self.failures[d.event.observation_id] = done + 1
                raise error
        self.applied.append([d.event.observation_id for d in deliveries])


def processor(handler: object, uow: FakeUnitOfWork, sink: FakeDeadLetterSink, *, attempts: int = 4,
              backoff_s: float = 0.1, **sub: object) -> BatchProcessor:
    subscription = Subscription(get_topic(TRACES_RAW), TraceCaptured, handler, **sub)  # type: ignore[arg-type]
    return BatchProcessor(service=SERVICE, subscription=subscription, group=GROUP, new_uow=lambda: uow,
                          dead_letters=sink, attempts=attempts, backoff_s=backoff_s)


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The back-off pauses the processor asked for (none of them waited)."""
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)

    monkeypatch.setattr(consumer_module.asyncio, "sleep", sleep)
    return delays


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_in_a_failed_batch_each_message_gets_every_attempt_with_a_doubling_pause(slept):
    handler, sink = Failing({"obs-1": RuntimeError("no")}), FakeDeadLetterSink()
    retries = counted("distillery_handler_retries_total", service=SERVICE, topic=TRACES_RAW)
    await processor(handler, FakeUnitOfWork(), sink, attempts=4).process([record(0), record(1)])
    assert handler.applied == [["obs-0"]]
    assert slept == pytest.approx([0.1, 0.2, 0.4])  # attempts 2, 3 and 4 of obs-1; obs-0 went first time
    assert [letter.attempts for _, letter in sink.sent] == [4]
    assert handler.failures == {"obs-1": 5}  # the batch, then four attempts alone
    assert counted("distillery_handler_retries_total", service=SERVICE, topic=TRACES_RAW) - retries == 3


async def test_a_batch_of_one_counts_its_failure_as_the_first_attempt(slept):
    handler, sink = Failing({"obs-0": RuntimeError("no")}), FakeDeadLetterSink()
    await processor(handler, FakeUnitOfWork(), sink, attempts=4).process([record(0)])
    assert slept == pytest.approx([0.1, 0.2, 0.4]) and handler.failures == {"obs-0": 4}
    assert [letter.attempts for _, letter in sink.sent] == [4]


async def test_a_message_that_fails_once_is_applied_on_its_second_attempt(slept):
    handler, sink = Failing({"obs-0": RuntimeError("once")}, times=1), FakeDeadLetterSink()
    await processor(handler, FakeUnitOfWork(), sink, attempts=4).process([record(0)])
    assert handler.applied == [["obs-0"]] and slept == pytest.approx([0.1]) and sink.sent == []


async def test_a_batch_failing_once_for_one_message_applies_both_without_a_pause(slept):
    handler, sink = Failing({"obs-1": RuntimeError("once")}, times=1), FakeDeadLetterSink()
    await processor(handler, FakeUnitOfWork(), sink).process([record(0), record(1)])
    assert handler.applied == [["obs-0"], ["obs-1"]] and slept == [] and sink.sent == []


@pytest.mark.parametrize("error", [PermanentError("no assistant turn"), ValueError("bad"), KeyError("k"),
                                   TypeError("t")])
async def test_a_message_at_fault_in_a_batch_is_dead_lettered_on_its_first_attempt(slept, error):
    handler, sink = Failing({"obs-1": error}), FakeDeadLetterSink()
    await processor(handler, FakeUnitOfWork(), sink).process([record(0), record(1)])
    assert slept == [] and [letter.attempts for _, letter in sink.sent] == [1]
    assert handler.failures == {"obs-1": 2}  # the batch, then once alone


async def test_after_a_retry_a_permanent_error_stops_the_retries(slept):
    class Then(Failing):
        async def __call__(self, uow: object, deliveries: list[Delivery[TraceCaptured]]) -> None:
            self.calls += 1
            raise RuntimeError("first") if self.calls == 1 else PermanentError("then")

    handler, sink = Then({}), FakeDeadLetterSink()
    await processor(handler, FakeUnitOfWork(), sink, attempts=5).process([record(0)])
    assert [(letter.attempts, letter.error_type) for _, letter in sink.sent] == [(2, "PermanentError")]
    assert slept == pytest.approx([0.1]) and handler.calls == 2


async def test_the_database_going_away_during_the_retries_rewinds_instead_of_dead_lettering(slept):
    class Then(Failing):
        async def __call__(self, uow: object, deliveries: list[Delivery[TraceCaptured]]) -> None:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("first")
            raise OperationalError("select", {}, ConnectionRefusedError("refused"))

    sink = FakeDeadLetterSink()
    with pytest.raises(OperationalError):
        await processor(Then({}), FakeUnitOfWork(), sink).process([record(0)])
    assert sink.sent == []


async def test_the_same_event_twice_in_one_batch_is_applied_once_and_counted_as_a_duplicate():
    handler, uow = Failing({}), FakeUnitOfWork()
    duplicates = counted("distillery_messages_duplicate_total", service=SERVICE, topic=TRACES_RAW)
    applied = counted("distillery_messages_applied_total", service=SERVICE, topic=TRACES_RAW)
    await processor(handler, uow, FakeDeadLetterSink()).process([record(0), record(1, "obs-0"), record(2)])
    assert handler.applied == [["obs-0", "obs-2"]]
    assert counted("distillery_messages_duplicate_total", service=SERVICE, topic=TRACES_RAW) - duplicates == 1
    assert counted("distillery_messages_applied_total", service=SERVICE, topic=TRACES_RAW) - applied == 2


async def test_the_inbox_remembers_each_event_under_the_handlers_name_or_the_given_consumer():
    uow = FakeUnitOfWork()
    await processor(Failing({}), uow, FakeDeadLetterSink()).process([record(0)])
    assert uow.applied == {("apply_traces", "clinic-prod:obs-0")}
    named = FakeUnitOfWork()
    await processor(Failing({}), named, FakeDeadLetterSink(), consumer="cleaner-v2").process([record(0)])
    assert named.applied == {("cleaner-v2", "clinic-prod:obs-0")}

    class Nameless:
        async def __call__(self, uow: object, deliveries: list[Delivery[TraceCaptured]]) -> None:
            return None

    anonymous = FakeUnitOfWork()
    await processor(Nameless(), anonymous, FakeDeadLetterSink()).process([record(0)])
    assert anonymous.applied == {("handler", "clinic-prod:obs-0")}


async def test_a_delivery_knows_where_it_came_from_and_its_key_even_when_not_utf8():
    seen: list[Delivery[TraceCaptured]] = []

    async def keep(uow: object, deliveries: list[Delivery[TraceCaptured]]) -> None:
        seen.extend(deliveries)

    await processor(keep, FakeUnitOfWork(), FakeDeadLetterSink()).process([
        record(7, partition=3, key=b"call-\xff"), record(8, partition=3, key=None)])
    assert [(d.topic, d.partition, d.offset, d.key) for d in seen] == [
        (TRACES_RAW, 3, 7, "call-\ufffd"), (TRACES_RAW, 3, 8, None)]


async def test_a_dead_letter_carries_the_message_whole_and_its_origin():
    sink = FakeDeadLetterSink()
    broken = record(5, partition=2, key=b"call-\xfe", value=b'{"not": "a trace", "x": "\xff"}')
    broken = dataclasses.replace(broken, headers=(*broken.headers, ("note", b"caf\xe9")))
    empty = record(6, partition=2, value=None, key=None)
    await processor(Failing({}), FakeUnitOfWork(), sink).process([broken, empty])
    (topic, letter), (_, nothing) = sink.sent
    assert topic == f"{TRACES_RAW}.dlq"
    assert (letter.source_topic, letter.partition, letter.offset, letter.consumer_group, letter.attempts) == (
        TRACES_RAW, 2, 5, GROUP, 1)
    assert (letter.original_key, letter.original_value) == ("call-\ufffd", '{"not": "a trace", "x": "\ufffd"}')
    assert letter.original_headers["note"] == "caf\ufffd" and letter.original_headers["event-type"] == "TraceCaptured"
    assert (nothing.error_type, nothing.original_value, nothing.original_key, nothing.offset) == (
        "PermanentError", "", None, 6)
    assert nothing.error_message.startswith("PermanentError: message has no value")
    assert [m.envelope.event_id for m in sink.messages] == [
        f"dlq:{GROUP}:{TRACES_RAW}:2:5", f"dlq:{GROUP}:{TRACES_RAW}:2:6"]


async def test_each_dead_letter_is_logged_and_counted_by_its_reason():
    sink = FakeDeadLetterSink(SERVICE)
    before = counted("distillery_messages_dead_lettered_total", service=SERVICE, topic=TRACES_RAW,
                     reason="InvalidPayload")
    batches = counted("distillery_batch_seconds_count", service=SERVICE, topic=TRACES_RAW)
    with capture_logs() as logs:
        await processor(Failing({}), FakeUnitOfWork(), sink).process([record(4, partition=1, value=b"{")])
    [logged] = [e for e in logs if e["event"] == "dead-lettering message"]
    assert (logged["topic"], logged["partition"], logged["offset"], logged["error_type"], logged["attempts"]) == (
        TRACES_RAW, 1, 4, "InvalidPayload", 1)
    assert logged["error"].startswith("InvalidPayload")
    assert counted("distillery_messages_dead_lettered_total", service=SERVICE, topic=TRACES_RAW,
                   reason="InvalidPayload") - before == 1
    assert counted("distillery_batch_seconds_count", service=SERVICE, topic=TRACES_RAW) - batches == 1


async def test_a_letter_the_broker_refuses_as_too_large_goes_again_cut_short_and_is_counted():
    sink = FakeDeadLetterSink(SERVICE, refuse_over=20_000)
    big = record(9, value=b'{"x": "' + b"y" * 60_000 + b'"}')
    too_large = counted("distillery_events_too_large_total", service=SERVICE, topic=TRACES_RAW, stage="dead_letter")
    with capture_logs() as logs:
        await processor(Failing({}), FakeUnitOfWork(), sink).process([big])
    [(topic, letter)] = sink.sent
    assert topic == f"{TRACES_RAW}.dlq" and sink.sizes[0] <= 20_000 and letter.offset == 9
    assert counted("distillery_events_too_large_total", service=SERVICE, topic=TRACES_RAW,
                   stage="dead_letter") - too_large == 1
    [warned] = [e for e in logs if e["log_level"] == "warning"]
    assert warned["event"] == "dead letter refused as too large; sending it again with the message cut short"
    assert (warned["topic"], warned["partition"], warned["offset"], warned["max_event_bytes"]) == (
        TRACES_RAW, 0, 9, sink.max_event_bytes)


async def test_a_letter_exactly_at_the_brokers_limit_is_taken_as_it_is():
    probe = FakeDeadLetterSink()
    await processor(Failing({}), FakeUnitOfWork(), probe).process([record(9, value=b"{")])
    sink = FakeDeadLetterSink(refuse_over=probe.sizes[0])
    await processor(Failing({}), FakeUnitOfWork(), sink).process([record(9, value=b"{")])
    assert sink.sizes == probe.sizes


async def test_a_batch_the_subscription_skips_entirely_is_not_prepared_and_is_counted():
    prepared: list[int] = []

    async def prepare(deliveries: list[Delivery[TraceCaptured]]) -> None:
        prepared.append(len(deliveries))

    from distillery_contracts.samples.pipeline import sample_score

    scored = raw_record(TraceScored(project_id="p", observation_id="o", trace_id="t", scores=[sample_score()]), 0,
                        event_id="s-0")
    consumed = counted("distillery_messages_consumed_total", service=SERVICE, topic=TRACES_RAW)
    skipped = counted("distillery_messages_skipped_total", service=SERVICE, topic=TRACES_RAW)
    p = processor(Failing({}), FakeUnitOfWork(), FakeDeadLetterSink(), prepare=prepare)
    await p.process([scored])
    await p.process([record(1), scored])
    assert prepared == [1]
    assert counted("distillery_messages_consumed_total", service=SERVICE, topic=TRACES_RAW) - consumed == 3
    assert counted("distillery_messages_skipped_total", service=SERVICE, topic=TRACES_RAW) - skipped == 2


async def test_a_failing_prepare_is_logged_and_the_handler_still_applies():
    async def prepare(deliveries: list[Delivery[TraceCaptured]]) -> None:
        raise RuntimeError("cache down")

    handler = Failing({})
    with capture_logs() as logs:
        await processor(handler, FakeUnitOfWork(), FakeDeadLetterSink(), prepare=prepare).process([record(0)])
    assert handler.applied == [["obs-0"]]
    [warned] = [e for e in logs if e["log_level"] == "warning"]
    assert warned["event"] == "preparing a batch failed; its handler does the work"
    assert warned["error"].startswith("RuntimeError")


async def test_a_failed_batch_says_it_goes_one_by_one(slept):
    with capture_logs() as logs:
        await processor(Failing({"obs-1": ValueError("v")}), FakeUnitOfWork(), FakeDeadLetterSink()).process(
            [record(0), record(1)])
    [warned] = [e for e in logs if e["log_level"] == "warning"]
    assert warned["event"] == "batch failed; applying its messages one by one"
    assert warned["error"].startswith("ValueError")


def test_a_subscription_names_the_types_its_topic_carries_when_it_asks_for_another():
    from distillery_contracts.commands import BuildDataset
    from distillery_runtime.errors import ConfigError

    with pytest.raises(ConfigError) as refused:
        Subscription(get_topic(TRACES_RAW), (TraceCaptured, BuildDataset), Failing({}))
    carried = ", ".join(e.__name__ for e in get_topic(TRACES_RAW).events)
    assert str(refused.value).endswith(f"(it carries {carried})")


def test_a_delivery_for_a_handler_test_defaults_to_offset_zero_on_partition_zero_of_topic_test():
    event = sample_trace_captured()
    delivered = delivery_of(event)
    assert (delivered.event, delivered.topic, delivered.partition, delivered.offset) == (event, "test", 0, 0)
    assert delivered.envelope.producer == "test/1"


def operational(cause: BaseException) -> DBAPIError:
    return DBAPIError("select 1", {}, cause)


class Chained(Exception):
    """An error that only wraps another (its cause or context is the one that matters)."""


def test_an_error_raised_while_handling_a_lost_connection_is_infrastructure():
    try:
        try:
            raise ConnectionResetError(errno.ECONNRESET, "reset")
        except ConnectionResetError:
            raise Chained("while cleaning up")  # noqa: B904 - the context, not the cause
    except Chained as exc:
        assert is_infrastructure_error(exc)
    assert not is_infrastructure_error(Chained("alone"))


def test_a_connection_the_driver_marked_invalid_is_infrastructure_whatever_the_error():
    assert is_infrastructure_error(DBAPIError("select 1", {}, ValueError("odd"), connection_invalidated=True))
    assert not is_infrastructure_error(DBAPIError("select 1", {}, ValueError("odd")))


async def test_by_default_a_message_is_tried_five_times_from_a_fifth_of_a_second(slept):
    handler, sink = Failing({"obs-0": RuntimeError("no")}), FakeDeadLetterSink()
    subscription = Subscription(get_topic(TRACES_RAW), TraceCaptured, handler)
    await BatchProcessor(service=SERVICE, subscription=subscription, group=GROUP, new_uow=FakeUnitOfWork,
                         dead_letters=sink).process([record(0)])
    assert slept == pytest.approx([0.2, 0.4, 0.8, 1.6]) and [letter.attempts for _, letter in sink.sent] == [5]


def test_a_driver_error_is_read_through_its_wrapper_and_a_loop_of_causes_ends():
    import asyncpg

    assert is_infrastructure_error(operational(asyncpg.exceptions.CannotConnectNowError("starting")))
    assert not is_infrastructure_error(operational(ValueError("bad literal")))
    first, second = Chained("a"), Chained("b")
    first.__cause__, second.__cause__ = second, first
    assert not is_infrastructure_error(first)


def test_a_timeout_under_eight_wrappers_is_not_looked_for_and_under_seven_it_is():
    error: BaseException = asyncio.TimeoutError()
    for depth in range(8):
        wrapper = Chained(f"wrap {depth}")
        wrapper.__cause__ = error
        error = wrapper
    assert not is_infrastructure_error(error)
    seven: BaseException = asyncio.TimeoutError()
    for depth in range(7):
        wrapper = Chained(f"wrap {depth}")
        wrapper.__cause__ = seven
        seven = wrapper
    assert is_infrastructure_error(seven)

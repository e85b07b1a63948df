"""The batch processor's delivery rules, with fakes: no broker, no database."""

from __future__ import annotations

import pytest
from aiokafka.structs import ConsumerRecord
from runtime_records import raw_record
from sqlalchemy.exc import OperationalError

from distillery_contracts.registry import TRACES_RAW, get_topic
from distillery_contracts.samples import sample_trace_captured
from distillery_contracts.traces import TraceCaptured
from distillery_runtime.consumer import BatchProcessor, Delivery, Subscription, delivery_of
from distillery_runtime.deadletter import FakeDeadLetterSink
from distillery_runtime.errors import PermanentError
from distillery_runtime.uow import FakeUnitOfWork


def record(offset: int, observation_id: str | None = None, *, value: bytes | None = None) -> ConsumerRecord:
    return raw_record(sample_trace_captured(observation_id=observation_id or f"obs-{offset}"), offset, value=value)


class Handler:
    """Records what it applied; fails on the observation ids it is told to."""

    def __init__(self, fail_on: dict[str, BaseException] | None = None) -> None:
        self.fail_on = fail_on or {}
        self.applied: list[str] = []
        self.calls = 0
        self.__name__ = "record_traces"

    async def __call__(self, uow, deliveries: list[Delivery]) -> None:
        self.calls += 1
        for d in deliveries:
            if d.event.observation_id in self.fail_on:
                raise self.fail_on[d.event.observation_id]
        self.applied.extend(d.event.observation_id for d in deliveries)


def processor(handler: Handler, uow: FakeUnitOfWork, sink: FakeDeadLetterSink, attempts: int = 3) -> BatchProcessor:
    return BatchProcessor(service="test", subscription=Subscription(get_topic(TRACES_RAW), TraceCaptured, handler),
                          group="distillery.test", new_uow=lambda: uow, dead_letters=sink,
                          attempts=attempts, backoff_s=0)


async def test_applies_a_batch_in_one_transaction():
    uow, sink, handler = FakeUnitOfWork(), FakeDeadLetterSink(), Handler()
    await processor(handler, uow, sink).process([record(0), record(1), record(2)])
    assert handler.applied == ["obs-0", "obs-1", "obs-2"]
    assert uow.commits == 1 and not sink.sent


async def test_redelivered_events_are_not_applied_again():
    uow, sink, handler = FakeUnitOfWork(), FakeDeadLetterSink(), Handler()
    p = processor(handler, uow, sink)
    await p.process([record(0), record(1)])
    await p.process([record(0), record(1), record(2)])
    assert handler.applied == ["obs-0", "obs-1", "obs-2"]


async def test_poison_message_is_retried_then_dead_lettered_and_the_rest_applied():
    uow, sink = FakeUnitOfWork(), FakeDeadLetterSink()
    handler = Handler(fail_on={"obs-1": RuntimeError("model answered nonsense")})
    await processor(handler, uow, sink, attempts=3).process([record(0), record(1), record(2)])
    assert handler.applied == ["obs-0", "obs-2"]
    [(topic, letter)] = sink.sent
    assert topic == f"{TRACES_RAW}.dlq"
    assert (letter.error_type, letter.attempts, letter.offset) == ("RuntimeError", 3, 1)
    assert letter.error_message.startswith("RuntimeError (raised at ")  # never the message's text
    assert letter.consumer_group == "distillery.test"


async def test_permanent_error_is_dead_lettered_without_retries():
    uow, sink = FakeUnitOfWork(), FakeDeadLetterSink()
    handler = Handler(fail_on={"obs-0": PermanentError("no assistant turn")})
    await processor(handler, uow, sink, attempts=5).process([record(0)])
    [(_, letter)] = sink.sent
    assert letter.attempts == 1 and handler.calls == 1


async def test_undecodable_record_is_dead_lettered_and_others_applied():
    uow, sink, handler = FakeUnitOfWork(), FakeDeadLetterSink(), Handler()
    await processor(handler, uow, sink).process([record(0, value=b"not json"), record(1)])
    assert handler.applied == ["obs-1"]
    [(_, letter)] = sink.sent
    assert letter.error_type == "InvalidPayload" and letter.original_value == "not json"


async def test_database_outage_is_raised_for_a_rewind_not_dead_lettered():
    uow, sink, handler = FakeUnitOfWork(), FakeDeadLetterSink(), Handler()
    uow.fail_with = OperationalError("commit", {}, ConnectionRefusedError("connection refused"))
    with pytest.raises(OperationalError):
        await processor(handler, uow, sink).process([record(0), record(1)])
    assert not sink.sent
    assert uow.applied == set()


def scored_record(offset: int) -> ConsumerRecord:
    from distillery_contracts.samples.pipeline import sample_score
    from distillery_contracts.traces import TraceScored

    event = TraceScored(project_id="p", observation_id="obs-x", trace_id="t", scores=[sample_score()])
    return raw_record(event, offset, event_id=f"score-{offset}")


async def test_a_handler_receives_only_the_event_types_its_subscription_names():
    uow, sink, handler = FakeUnitOfWork(), FakeDeadLetterSink(), Handler()
    await processor(handler, uow, sink).process([record(0), scored_record(1), record(2)])
    assert handler.applied == ["obs-0", "obs-2"]
    assert not sink.sent  # another type on the topic is not an error


def test_a_subscription_to_a_type_its_topic_never_carries_is_refused():
    from distillery_contracts.commands import BuildDataset
    from distillery_runtime.errors import ConfigError

    with pytest.raises(ConfigError, match="carries no BuildDataset"):
        Subscription(get_topic(TRACES_RAW), BuildDataset, Handler())


def test_a_delivery_made_for_a_handler_test_carries_the_events_id_key_and_cycle():
    event = sample_trace_captured(observation_id="obs-42", session_id="call-9")
    delivered = delivery_of(event, offset=7, topic=TRACES_RAW, correlation_id="cycle-3")
    assert (delivered.event_id, delivered.key, delivered.offset) == ("clinic-prod:obs-42", "call-9", 7)
    assert delivered.envelope.correlation_id == "cycle-3" and delivered.envelope.event_type == "TraceCaptured"

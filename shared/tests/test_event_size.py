"""Size limits: no event over DISTILLERY_MAX_EVENT_BYTES is written to the outbox and no dead
letter over it is sent, so one big record never stops a consumer (fakes: no broker, no database)."""

from __future__ import annotations

import pytest
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.structs import ConsumerRecord
from runtime_records import raw_record

from distillery_contracts.registry import EXAMPLES_REJECTED, TRACES_RAW, get_topic
from distillery_contracts.samples import sample_example_rejected, sample_trace_captured
from distillery_contracts.traces import TraceCaptured
from distillery_runtime.consumer import BatchProcessor, Delivery, Subscription
from distillery_runtime.deadletter import FakeDeadLetterSink
from distillery_runtime.errors import PermanentError
from distillery_runtime.infra import is_infrastructure_error
from distillery_runtime.sizes import BARE_DEAD_LETTER_BYTES, EventTooLarge
from distillery_runtime.uow import FakeUnitOfWork

LIMIT = 50_000


def record(offset: int, *, note: str = "") -> ConsumerRecord:
    """A trace at ``offset`` as the consumer reads it; ``note`` (in its metadata) makes its body
    as long as wanted."""
    return raw_record(sample_trace_captured(observation_id=f"obs-{offset}", metadata={"note": note} if note else {}),
                      offset)


def rejection(detail_bytes: int, observation_id: str = "obs-0"):
    return sample_example_rejected(rejection_id=f"rej-{observation_id}", detail="x" * detail_bytes)


class Rejecting:
    """Emits one rejection per trace; a trace named in ``big`` gets a rejection of LIMIT bytes or more."""

    def __init__(self, big: set[str] = frozenset(), fail: bool = False) -> None:
        self.big, self.fail = big, fail
        self.__name__ = "reject_traces"

    async def __call__(self, uow, deliveries: list[Delivery]) -> None:
        if self.fail:
            raise PermanentError("no assistant turn")
        for d in deliveries:
            oid = d.event.observation_id
            uow.emit(EXAMPLES_REJECTED, rejection(LIMIT if oid in self.big else 10, oid), cause=d.envelope)


def processor(handler, uow: FakeUnitOfWork, sink: FakeDeadLetterSink) -> BatchProcessor:
    return BatchProcessor(service="test", subscription=Subscription(get_topic(TRACES_RAW), TraceCaptured, handler),
                          group="distillery.test", new_uow=lambda: uow, dead_letters=sink, attempts=3, backoff_s=0)


def test_emit_takes_an_event_of_exactly_the_limit_and_refuses_one_byte_more():
    event = rejection(LIMIT - 1_000)
    measured = FakeUnitOfWork(max_event_bytes=10**9)
    measured.emit(EXAMPLES_REJECTED, event)
    size = measured.pending[0].size

    FakeUnitOfWork(max_event_bytes=size).emit(EXAMPLES_REJECTED, event)
    uow = FakeUnitOfWork(max_event_bytes=size - 1)
    with pytest.raises(EventTooLarge) as refused:
        uow.emit(EXAMPLES_REJECTED, event)
    assert uow.pending == []
    assert isinstance(refused.value, PermanentError)
    reason = str(refused.value)
    assert EXAMPLES_REJECTED in reason and "ExampleRejected" in reason
    assert f"{size:,} bytes" in reason and f"{size - 1:,} bytes" in reason
    assert "xxxx" not in reason  # a reason never carries the message's text


async def test_an_oversized_event_dead_letters_its_input_with_the_reason_and_the_rest_is_applied():
    uow, sink = FakeUnitOfWork(max_event_bytes=LIMIT), FakeDeadLetterSink(max_event_bytes=LIMIT)
    await processor(Rejecting(big={"obs-1"}), uow, sink).process([record(0), record(1), record(2)])

    assert [m.envelope.causation_id for m in uow.committed] == ["clinic-prod:obs-0", "clinic-prod:obs-2"]
    assert all(m.size <= LIMIT for m in uow.committed)
    [(topic, letter)] = sink.sent
    assert topic == f"{TRACES_RAW}.dlq"
    assert (letter.error_type, letter.offset, letter.attempts) == ("EventTooLarge", 1, 1)
    assert "over the limit of 50,000 bytes" in letter.error_message


async def test_a_dead_letter_of_a_large_message_is_cut_to_the_limit_and_says_so():
    uow, sink = FakeUnitOfWork(max_event_bytes=LIMIT), FakeDeadLetterSink(max_event_bytes=LIMIT)
    big = record(7, note="y" * (2 * LIMIT))
    await processor(Rejecting(fail=True), uow, sink).process([big])

    [(_, letter)] = sink.sent
    assert sink.sizes[0] <= LIMIT
    assert letter.original_bytes == len(big.value)
    assert big.value.decode().startswith(letter.original_value) and len(letter.original_value) > LIMIT // 2
    assert (letter.error_type, letter.source_topic, letter.offset, letter.consumer_group) == (
        "PermanentError", TRACES_RAW, 7, "distillery.test")


async def test_a_small_message_is_dead_lettered_whole():
    uow, sink = FakeUnitOfWork(), FakeDeadLetterSink()
    small = record(3)
    await processor(Rejecting(fail=True), uow, sink).process([small])

    [(_, letter)] = sink.sent
    assert letter.original_value == small.value.decode() and letter.original_bytes is None


async def test_a_dead_letter_the_broker_refuses_as_too_large_goes_with_the_message_cut_short_and_consuming_goes_on():
    uow = FakeUnitOfWork()
    sink = FakeDeadLetterSink(refuse_over=LIMIT)  # a broker whose limit is below ours
    large = record(4, note="z" * (3 * LIMIT))
    await processor(Rejecting(fail=True), uow, sink).process([large])

    [(_, letter)] = sink.sent
    assert sink.sizes[0] <= BARE_DEAD_LETTER_BYTES
    assert letter.original_bytes == len(large.value) and large.value.decode().startswith(letter.original_value)
    assert (letter.error_type, letter.offset) == ("PermanentError", 4)
    assert letter.error_message.startswith("PermanentError: no assistant turn")


def test_a_record_too_large_is_not_an_infrastructure_failure():
    assert not is_infrastructure_error(MessageSizeTooLargeError("1,200,000 bytes"))
    assert not is_infrastructure_error(EventTooLarge("too large"))

"""Logs and dead letters say what failed and where, never the words of the message that failed."""

from __future__ import annotations

import pytest
import structlog
from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel, ValidationError
from runtime_records import raw_record

from distillery_contracts.upcasting import InvalidPayload
from distillery_runtime.consumer import BatchProcessor, Subscription
from distillery_runtime.deadletter import FakeDeadLetterSink
from distillery_runtime.errors import PermanentError
from distillery_runtime.safe_errors import safe_summary
from distillery_runtime.uow import FakeUnitOfWork

from distillery_contracts.registry import TRACES_RAW, get_topic
from distillery_contracts.samples import sample_trace_captured
from distillery_contracts.traces import TraceCaptured

CALLER = "Jane Doe 4111 1111 1111 1111"


def record(offset: int) -> ConsumerRecord:
    return raw_record(sample_trace_captured(observation_id=f"obs-{offset}"), offset)


class Handler:
    """Fails on the observation ids it is told to."""

    def __init__(self, fail_on: dict[str, BaseException]) -> None:
        self.fail_on = fail_on
        self.__name__ = "record_traces"

    async def __call__(self, uow, deliveries) -> None:
        for d in deliveries:
            if d.event.observation_id in self.fail_on:
                raise self.fail_on[d.event.observation_id]


def processor(handler: Handler, sink: FakeDeadLetterSink) -> BatchProcessor:
    return BatchProcessor(service="test", subscription=Subscription(get_topic(TRACES_RAW), TraceCaptured, handler),
                          group="distillery.test", new_uow=FakeUnitOfWork, dead_letters=sink,
                          attempts=2, backoff_s=0)


class Card(BaseModel):
    number: int


def validation_error() -> ValidationError:
    try:
        Card.model_validate({"number": CALLER})
    except ValidationError as exc:
        return exc
    raise AssertionError("validated")


@pytest.mark.parametrize("error", [
    KeyError(CALLER),
    RuntimeError(f"could not parse {CALLER!r}"),
    ValueError(f"bad turn: {CALLER}"),
])
async def test_a_handler_failing_on_a_callers_words_dead_letters_and_logs_without_them(error):
    sink = FakeDeadLetterSink()
    handler = Handler(fail_on={"obs-1": error})
    with structlog.testing.capture_logs() as logs:
        await processor(handler, sink).process([record(0), record(1)])
    [(_, letter)] = sink.sent
    assert letter.error_type == type(error).__name__
    assert "Jane" not in letter.error_message and "4111" not in letter.error_message
    assert "test_safe_errors.py" in letter.error_message  # where it was raised: the useful part
    assert logs, "the failure is logged"
    for line in logs:
        assert "Jane" not in str(line) and "4111" not in str(line)


async def test_a_validation_error_names_fields_and_kinds_without_the_input():
    sink = FakeDeadLetterSink()
    handler = Handler(fail_on={"obs-0": validation_error()})
    with structlog.testing.capture_logs() as logs:
        await processor(handler, sink).process([record(0)])
    [(_, letter)] = sink.sent
    assert "number" in letter.error_message and "valid integer" in letter.error_message
    assert "Jane" not in letter.error_message and "input_value" not in letter.error_message
    assert all("Jane" not in str(line) for line in logs)


def test_the_projects_own_refusals_keep_their_reason():
    assert "no assistant turn" in safe_summary(PermanentError("no assistant turn"))
    assert "turns.0: Field required" in safe_summary(InvalidPayload("TraceCaptured v1 is invalid: turns.0: Field required"))


def test_a_validators_own_message_is_reduced_to_its_kind():

    from pydantic import field_validator

    class Strict(BaseModel):
        text: str

        @field_validator("text")
        @classmethod
        def no_cards(cls, value: str) -> str:
            raise ValueError(f"card in {value}")

    try:
        Strict(text=CALLER)
    except ValidationError as exc:
        summary = safe_summary(exc)
    assert "text: value_error" in summary and "Jane" not in summary


def test_a_chained_error_says_its_cause_type_only():
    try:
        try:
            {}[CALLER]
        except KeyError as inner:
            raise RuntimeError(f"lookup of {CALLER} failed") from inner
    except RuntimeError as exc:
        summary = safe_summary(exc)
    assert summary.startswith("RuntimeError: caused by KeyError") and "Jane" not in summary

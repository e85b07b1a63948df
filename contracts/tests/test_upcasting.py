"""Decoding reads current and older payloads, and fails with reasons fit for a dead letter."""

import json
from typing import ClassVar

import pytest
from pydantic import Field

from distillery_contracts import (
    Envelope,
    Event,
    InvalidPayload,
    MissingUpcaster,
    TopicSpec,
    TraceCaptured,
    UnknownEventType,
    decode_event,
    get_topic,
    register_upcaster,
)
from distillery_contracts.registry import TRACES_RAW
from distillery_contracts.samples import sample_trace_captured


def _envelope(event_type: str, version: int) -> Envelope:
    return Envelope.new(event_type=event_type, schema_version=version, producer="test/0")


def test_current_version_decodes_into_its_model():
    trace = sample_trace_captured()
    decoded = decode_event(
        get_topic(TRACES_RAW), _envelope("TraceCaptured", 1), trace.model_dump_json().encode()
    )
    assert decoded == trace


def test_newer_version_that_only_added_fields_still_decodes():
    body = json.loads(sample_trace_captured().model_dump_json()) | {"voice_id": "alloy"}
    decoded = decode_event(
        get_topic(TRACES_RAW), _envelope("TraceCaptured", 2), json.dumps(body).encode()
    )
    assert isinstance(decoded, TraceCaptured)


def test_an_event_type_the_topic_does_not_carry_is_refused():
    with pytest.raises(
        UnknownEventType, match="does not carry event type 'DatasetBuilt'.*TraceCaptured"
    ):
        decode_event(get_topic(TRACES_RAW), _envelope("DatasetBuilt", 1), b"{}")


def test_invalid_payload_names_the_fields_without_echoing_values():
    body = json.loads(sample_trace_captured().model_dump_json())
    del body["start_time"]
    body["user_id"] = ["card 4111 1111 1111 1111"]
    with pytest.raises(InvalidPayload) as caught:
        decode_event(
            get_topic(TRACES_RAW), _envelope("TraceCaptured", 1), json.dumps(body).encode()
        )
    message = str(caught.value)
    assert "TraceCaptured v1 on distillery.traces.raw.v1 is invalid" in message
    assert "start_time: Field required" in message and "user_id" in message
    assert "4111" not in message


def test_a_body_that_is_not_json_is_an_invalid_payload():
    with pytest.raises(InvalidPayload, match="Invalid JSON"):
        decode_event(get_topic(TRACES_RAW), _envelope("TraceCaptured", 1), b"\xff not json")


class CallSummarised(Event):
    """Fabricated for this test: v2 renamed 'text' to 'summary' and added 'language'."""

    event_type: ClassVar[str] = "CallSummarised"
    schema_version: ClassVar[int] = 2

    call_id: str = Field(description="The call.")
    summary: str = Field(description="What was said.")
    language: str = Field(description="Language of the call.")


SPEC = TopicSpec(name="distillery.test.summaries.v1", events=(CallSummarised,), key="call_id")


def test_an_older_payload_is_upcast_before_validation():
    upcasters = {}

    @register_upcaster("CallSummarised", 1, registry=upcasters)
    def upcast_call_summarised_v1_to_v2(payload):
        return {"call_id": payload["call_id"], "summary": payload.pop("text"), "language": "en"}

    body = json.dumps({"call_id": "c-1", "text": "booked a check-up"}).encode()
    event = decode_event(SPEC, _envelope("CallSummarised", 1), body, upcasters=upcasters)
    assert event == CallSummarised(call_id="c-1", summary="booked a check-up", language="en")


def test_an_older_payload_without_an_upcaster_is_refused_with_the_missing_step():
    with pytest.raises(MissingUpcaster, match="no upcaster from v1 to v2"):
        decode_event(SPEC, _envelope("CallSummarised", 1), b'{"call_id": "c-1"}', upcasters={})


def test_an_upcast_payload_is_still_validated():
    upcasters = {("CallSummarised", 1): lambda payload: payload}
    with pytest.raises(InvalidPayload, match="summary: Field required"):
        decode_event(
            SPEC, _envelope("CallSummarised", 1), b'{"call_id": "c-1"}', upcasters=upcasters
        )


def test_an_older_payload_that_is_not_an_object_is_refused():
    with pytest.raises(InvalidPayload, match="must be a JSON object, got list"):
        decode_event(SPEC, _envelope("CallSummarised", 1), b"[1, 2]", upcasters={})


def test_registering_the_same_upcaster_twice_is_an_error():
    upcasters = {}
    register_upcaster("CallSummarised", 1, registry=upcasters)(lambda p: p)
    with pytest.raises(ValueError, match="already registered"):
        register_upcaster("CallSummarised", 1, registry=upcasters)(lambda p: p)

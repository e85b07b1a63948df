"""Records as the consumer reads them from ``traces.raw``, for the runtime's tests (no broker)."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord

from distillery_contracts.base import Event
from distillery_contracts.envelope import Envelope
from distillery_contracts.registry import TRACES_RAW


def raw_record(event: Event, offset: int, *, value: bytes | None = None,
               event_id: str | None = None) -> ConsumerRecord:
    """``event`` at ``offset`` of partition 0 with its envelope headers; ``value`` replaces its
    body (for a payload that does not decode)."""
    envelope = Envelope.new(event_type=event.event_type, schema_version=event.schema_version, producer="test/1",
                            event_id=event_id or event.event_id())
    body = value if value is not None else event.model_dump_json().encode()
    return ConsumerRecord(TRACES_RAW, 0, offset, 0, 0, b"call-1", body, None, 6, len(body), envelope.to_headers())

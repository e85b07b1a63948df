"""The envelope: headers every Distillery message carries, whatever its payload.

Headers travel beside the JSON body so that routing, lineage and dead-lettering
never need to parse the payload.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

HEADER_EVENT_ID = "event-id"
HEADER_EVENT_TYPE = "event-type"
HEADER_SCHEMA_VERSION = "schema-version"
HEADER_PRODUCED_AT = "produced-at"
HEADER_PRODUCER = "producer"
HEADER_CORRELATION_ID = "correlation-id"
HEADER_CAUSATION_ID = "causation-id"
HEADER_CONTENT_TYPE = "content-type"

REQUIRED_HEADERS = (
    HEADER_EVENT_ID,
    HEADER_EVENT_TYPE,
    HEADER_SCHEMA_VERSION,
    HEADER_PRODUCED_AT,
    HEADER_PRODUCER,
)


class MissingHeaderError(ValueError):
    """A message arrived without a header that every Distillery message must carry."""


class Envelope(BaseModel):
    """Lineage and typing metadata of one message, carried as Kafka headers."""

    model_config = ConfigDict(frozen=True)

    event_id: str = Field(description="Deterministic where possible; consumers dedupe on it.")
    event_type: str = Field(description="Name of the payload model, e.g. 'TraceCaptured'.")
    schema_version: int = Field(ge=1, description="Version of the payload model.")
    produced_at: datetime = Field(description="When the producer created the message (UTC).")
    producer: str = Field(description="'<service>/<version>' of the producing service.")
    correlation_id: str | None = Field(
        default=None, description="The distillation cycle this message belongs to."
    )
    causation_id: str | None = Field(
        default=None, description="Event id of the message that caused this one."
    )

    @classmethod
    def new(
        cls,
        *,
        event_type: str,
        schema_version: int,
        producer: str,
        event_id: str | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> Envelope:
        return cls(
            event_id=event_id or str(uuid.uuid4()),
            event_type=event_type,
            schema_version=schema_version,
            produced_at=datetime.now(UTC),
            producer=producer,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )

    def caused(self, **changes: object) -> dict[str, object]:
        """Lineage fields for an event caused by this one: same cycle, this event as cause."""
        return {"correlation_id": self.correlation_id, "causation_id": self.event_id, **changes}

    def to_headers(self) -> list[tuple[str, bytes]]:
        headers = [
            (HEADER_EVENT_ID, self.event_id),
            (HEADER_EVENT_TYPE, self.event_type),
            (HEADER_SCHEMA_VERSION, str(self.schema_version)),
            (HEADER_PRODUCED_AT, self.produced_at.isoformat()),
            (HEADER_PRODUCER, self.producer),
            (HEADER_CONTENT_TYPE, "application/json"),
        ]
        if self.correlation_id:
            headers.append((HEADER_CORRELATION_ID, self.correlation_id))
        if self.causation_id:
            headers.append((HEADER_CAUSATION_ID, self.causation_id))
        return [(k, v.encode()) for k, v in headers]

    @classmethod
    def from_headers(cls, headers: Sequence[tuple[str, bytes]]) -> Envelope:
        found = {k: v.decode("utf-8", "replace") for k, v in headers}
        missing = [h for h in REQUIRED_HEADERS if h not in found]
        if missing:
            raise MissingHeaderError(f"message lacks required header(s): {', '.join(missing)}")
        return cls(
            event_id=found[HEADER_EVENT_ID],
            event_type=found[HEADER_EVENT_TYPE],
            schema_version=int(found[HEADER_SCHEMA_VERSION]),
            produced_at=datetime.fromisoformat(found[HEADER_PRODUCED_AT]),
            producer=found[HEADER_PRODUCER],
            correlation_id=found.get(HEADER_CORRELATION_ID),
            causation_id=found.get(HEADER_CAUSATION_ID),
        )

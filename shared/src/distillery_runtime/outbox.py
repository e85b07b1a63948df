"""Transactional outbox: events are rows first, messages second.

A handler adds events to the unit of work; they are inserted in the same transaction
as its state change. The relay publishes committed rows in id order and deletes them
once the broker has acknowledged every one. One relay per service publishes at a time
(an advisory lock), so the order of events with the same key is kept. The rows a commit in
the relay's own process stored are handed to it from memory (:meth:`OutboxRelay.committed`):
a round reads only the ids of the rows waiting, and the bodies of those it was not given
(another instance's, or left from before a restart).

No row may stop the relay: an event over ``DISTILLERY_MAX_EVENT_BYTES`` is refused before
it becomes a row (see sizes.py), and a row the broker still refuses as too large (written
before the limit was lowered, or a broker whose limit is lower than ours) is moved aside:
replaced by a dead letter that says why, without its body, on ``<topic>.dlq``.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from distillery_contracts.base import Event
from distillery_contracts.deadletter import DeadLettered
from distillery_contracts.envelope import HEADER_CORRELATION_ID, HEADER_PRODUCER, Envelope
from distillery_runtime.clock import utc_now
from distillery_runtime.locks import advisory_lock
from distillery_runtime.logs import get_logger
from distillery_runtime.safe_errors import safe_summary
from distillery_runtime.metrics import EVENTS_TOO_LARGE, OUTBOX_PUBLISHED
from distillery_runtime.sizes import (
    BARE_DEAD_LETTER_BYTES,
    DEFAULT_MAX_EVENT_BYTES,
    EventTooLarge,
    is_too_large,
    record_size,
)

log = get_logger(__name__)

_PENDING_IDS = text("select id from outbox order by id limit :n")
_ROWS = text("select id, topic, key, event_id, event_type, headers::text as headers, payload "
             "from outbox where id = any(cast(:ids as bigint[]))")
_PUBLISHED = text("delete from outbox where id = any(cast(:ids as bigint[]))")

ADD_OUTBOX = text("""
    insert into outbox (topic, key, event_id, event_type, schema_version, headers, payload)
    select t, k, e, y, v, cast(h as jsonb), p
    from unnest(cast(:topics as text[]), cast(:keys as text[]), cast(:event_ids as text[]),
                cast(:event_types as text[]), cast(:versions as integer[]), cast(:headers as text[]),
                cast(:payloads as bytea[])) with ordinality as u(t, k, e, y, v, h, p, n)
    order by n
    on conflict (event_id) do nothing
    returning id, event_id
""")
"""Rows keep the order of ``emit`` (ids are drawn in ``n`` order): the relay publishes by id.
Returns the id of each row stored (an event id already in the outbox stores nothing)."""

_MOVED_ASIDE = "outbox-too-large:"
"""Event id prefix of the dead letter that replaces a refused row."""


@dataclass(frozen=True)
class OutgoingMessage:
    """An event ready to be stored in the outbox."""

    topic: str
    key: str | None
    envelope: Envelope
    payload: bytes

    @classmethod
    def of(cls, topic: str, event: Event, envelope: Envelope, key: str | None = None,
           *, max_bytes: int = DEFAULT_MAX_EVENT_BYTES, body: bytes | None = None) -> OutgoingMessage:
        """``event`` as a record of at most ``max_bytes`` (shortened where the event allows it,
        see ``Event.shortened_to``); :class:`EventTooLarge` when it does not fit. ``body``: the
        event's JSON, when the caller has written it (see ``UnitOfWork.emit``)."""
        message = cls._of(topic, event, envelope, key, body)
        size = message.size
        if size > max_bytes:
            message = cls._of(topic, event.shortened_to(len(message.payload) - (size - max_bytes)), envelope, key)
            size = message.size
        if size > max_bytes:
            raise EventTooLarge(
                f"{envelope.event_type} for {topic} is {size:,} bytes, over the limit of "
                f"{max_bytes:,} bytes an event may have (DISTILLERY_MAX_EVENT_BYTES, the broker's "
                "message size limit): it is not written to the outbox")
        return message

    @classmethod
    def _of(cls, topic: str, event: Event, envelope: Envelope, key: str | None,
            body: bytes | None = None) -> OutgoingMessage:
        return cls(
            topic=topic,
            key=key if key is not None else event.partition_key(),
            envelope=envelope,
            payload=body if body is not None else event.__pydantic_serializer__.to_json(event),
        )

    @cached_property
    def headers(self) -> dict[str, str]:
        """The envelope as the record's headers, name to text (the outbox stores them so)."""
        return {k: v.decode() for k, v in self.envelope.to_headers()}

    @cached_property
    def size(self) -> int:
        """Bytes of the record the broker will see (key, payload, headers)."""
        return record_size(self.key, self.payload, self.headers)


def outbox_columns(messages: Sequence[OutgoingMessage]) -> dict[str, list[object]]:
    """The messages as one array per outbox column, for ``ADD_OUTBOX``."""
    return {
        "topics": [m.topic for m in messages],
        "keys": [m.key for m in messages],
        "event_ids": [m.envelope.event_id for m in messages],
        "event_types": [m.envelope.event_type for m in messages],
        "versions": [m.envelope.schema_version for m in messages],
        "headers": [json.dumps(m.headers) for m in messages],
        "payloads": [m.payload for m in messages],
    }


class AbstractPublisher(abc.ABC):
    """What the relay needs from a broker: send many, wait until all are acknowledged."""

    @abc.abstractmethod
    async def send_all(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Publish outbox rows (topic, key, headers, payload) and wait for every ack.

        ``headers`` is a mapping of header name to text value; ``payload`` the bytes to send."""


class OutboxRelay:
    """Publishes committed outbox rows; woken by commits, polls as a safety net."""

    def __init__(self, engine: AsyncEngine, publisher: AbstractPublisher, *, lock_name: str,
                 poll_s: float = 0.5, batch_size: int = 1000,
                 max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._engine = engine
        self._publisher = publisher
        self._lock_name = lock_name
        self._poll_s = poll_s
        self._batch_size = batch_size
        self._max_event_bytes = max_event_bytes
        self._wake = asyncio.Event()
        self._stopping = False
        self._known: dict[int, dict[str, Any]] = {}
        self._known_limit = 4 * batch_size
        self.healthy = True

    def committed(self, stored: Sequence[tuple[int, OutgoingMessage]]) -> None:
        """Rows a commit in this process just stored (id and message): published from memory
        rather than read back, and the relay woken. At most four batches are kept (the oldest
        go first); a relay that does not lead keeps none: it reads whatever it publishes."""
        for row_id, message in stored:
            self._known[row_id] = message_row(row_id, message)
        while len(self._known) > self._known_limit:
            del self._known[next(iter(self._known))]
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Publish until stopped. The relay's lock is held for as long as its connection lives:
        one instance's relay leads and publishes every instance's rows (the others stand by and
        take over when its connection dies), and a round is one read, one send and one delete."""
        while not self._stopping:
            try:
                async with advisory_lock(self._engine, self._lock_name) as held:
                    if held is None:  # another instance's relay leads
                        self._known.clear()
                        self.healthy = True
                        await self._sleep()
                        continue
                    while not self._stopping:
                        published = await self._publish_batch(held.conn)
                        self.healthy = True
                        if published < self._batch_size:
                            await self._sleep()
            except Exception as exc:  # broker or database down: keep the rows, try again
                self.healthy = False
                log.warning("outbox relay failed; will retry", error=safe_summary(exc))
                await self._sleep()
        await self.drain()

    async def _sleep(self) -> None:
        """Until a commit in this process wakes the relay, or the poll interval (other
        instances' rows, and a safety net) ends."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self._poll_s)
        self._wake.clear()

    async def drain(self) -> None:
        """Publish what is left before shutdown (best effort; rows stay if it fails)."""
        try:
            while await self.publish_pending() >= self._batch_size:
                pass
        except Exception as exc:
            log.warning("outbox not drained at shutdown; rows stay for the next start",
                        error=safe_summary(exc))

    async def publish_pending(self) -> int:
        """Publish one batch while holding the relay's lock (one relay per schema keeps each
        key's order); 0 when another instance's relay holds it."""
        async with advisory_lock(self._engine, self._lock_name) as held:
            if held is None:
                return 0
            return await self._publish_batch(held.conn)

    async def _publish_batch(self, conn: AsyncConnection) -> int:
        """One batch on the connection holding the relay's lock; its delete commits only there,
        so a relay that lost its lock (its connection broke) removes nothing."""
        ids = list((await conn.execute(_PENDING_IDS, {"n": self._batch_size})).scalars())
        if not ids:
            await conn.rollback()  # end the read's transaction: an idle relay holds no snapshot
            return 0
        missing = [i for i in ids if i not in self._known]
        read = {}
        if missing:  # only this connection deletes rows: every id read is still there
            read = {r["id"]: r for r in (_row(m._mapping) for m in await conn.execute(_ROWS, {"ids": missing}))}
        rows = [self._known.get(i) or read[i] for i in ids]
        refused = await self._send(rows)
        await conn.execute(_PUBLISHED, {"ids": [r["id"] for r in rows]})
        # A letter that replaced a refused row is about 1 KB: a broker refusing that refuses
        # every event, so it is not replaced in turn (it was logged and counted).
        letters = [_moved_aside(r, self._max_event_bytes) for r in refused
                   if not r["event_id"].startswith(_MOVED_ASIDE)]
        if letters:
            await conn.execute(ADD_OUTBOX, outbox_columns(letters))
        await conn.commit()
        for row_id in ids:
            self._known.pop(row_id, None)
        OUTBOX_PUBLISHED.labels(service=self._lock_name).inc(len(rows) - len(refused))
        return len(rows)

    async def _send(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Publish ``rows`` in id order; return those too large to publish, which were not sent."""
        refused = [r for r in rows if r["size"] > self._max_event_bytes]
        sendable = [r for r in rows if r["size"] <= self._max_event_bytes]
        try:
            await self._publisher.send_all(sendable)
        except Exception as exc:
            if not is_too_large(exc):
                raise
            # The broker's limit is below ours: find the rows it refuses, one by one (a
            # partition's batch acknowledged before the refusal is sent twice: at least once).
            log.warning("broker refused an outbox batch as too large; publishing it one event at a time",
                        service=self._lock_name, rows=len(sendable))
            for row in sendable:
                try:
                    await self._publisher.send_all([row])
                except Exception as one:
                    if not is_too_large(one):
                        raise
                    refused.append(row)
        for row in refused:
            EVENTS_TOO_LARGE.labels(service=self._lock_name, topic=row["topic"], stage="relay").inc()
            log.error("outbox event too large for the broker; moved to its dead-letter topic",
                      topic=row["topic"], event_id=row["event_id"], event_type=row["event_type"],
                      size=row["size"], max_event_bytes=self._max_event_bytes)
        return refused


def _row(row: Mapping[Any, Any]) -> dict[str, Any]:
    """An outbox row read back, as the publisher takes it, with the size of its record."""
    headers = json.loads(row["headers"])
    return {**row, "headers": headers,
            "size": record_size(row["key"], row["payload"], headers)}


def message_row(row_id: int, message: OutgoingMessage) -> dict[str, Any]:
    """The row ``message`` was stored as (id ``row_id``), as :func:`_row` reads it back."""
    envelope = message.envelope
    return {"id": row_id, "topic": message.topic, "key": message.key, "event_id": envelope.event_id,
            "event_type": envelope.event_type, "headers": message.headers,
            "payload": message.payload, "size": message.size}


def _moved_aside(row: Mapping[str, Any], max_event_bytes: int) -> OutgoingMessage:
    """The dead letter replacing an outbox row that is too large: the reason, the event's topic,
    key and headers, not its body (the body is what did not fit). A row already on a dead-letter
    topic gets its letter on that same topic."""
    topic, headers = row["topic"], row["headers"]
    letter = DeadLettered(
        error_type=EventTooLarge.__name__,
        error_message=f"{row['event_type']} of {row['size']:,} bytes was refused as too large "
                      f"(DISTILLERY_MAX_EVENT_BYTES is {max_event_bytes:,}); moved out of the outbox",
        source_topic=topic, attempts=1, failed_at=utc_now(), original_key=row["key"],
        original_headers=headers, original_value="", original_bytes=len(row["payload"]),
    )
    envelope = Envelope.new(event_type=letter.event_type, schema_version=letter.schema_version,
                            producer=headers.get(HEADER_PRODUCER, "outbox-relay"),
                            event_id=f"{_MOVED_ASIDE}{row['event_id']}",
                            correlation_id=headers.get(HEADER_CORRELATION_ID), causation_id=row["event_id"])
    dlq = topic if topic.endswith(".dlq") else f"{topic}.dlq"
    return OutgoingMessage.of(dlq, letter, envelope, max_bytes=BARE_DEAD_LETTER_BYTES)

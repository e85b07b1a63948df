"""Transactional outbox: events are rows first, messages second.

A handler adds events to the unit of work; they are inserted in the same transaction
as its state change. The relay publishes committed rows in id order and deletes them
once the broker has acknowledged every one. One relay per service publishes at a time
(an advisory lock), so the order of events with the same key is kept.
"""

from __future__ import annotations

import abc
import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from distillery_contracts.base import Event
from distillery_contracts.envelope import Envelope
from distillery_runtime.locks import advisory_lock
from distillery_runtime.logs import get_logger
from distillery_runtime.metrics import OUTBOX_PUBLISHED

log = get_logger(__name__)

_PENDING = text("select id, topic, key, headers::text as headers, payload from outbox order by id limit :n")
_PUBLISHED = text("delete from outbox where id = any(cast(:ids as bigint[]))")


@dataclass(frozen=True)
class OutgoingMessage:
    """An event ready to be stored in the outbox."""

    topic: str
    key: str | None
    envelope: Envelope
    payload: bytes

    @classmethod
    def of(cls, topic: str, event: Event, envelope: Envelope, key: str | None = None) -> OutgoingMessage:
        return cls(
            topic=topic,
            key=key if key is not None else event.partition_key(),
            envelope=envelope,
            payload=event.model_dump_json(exclude_none=False).encode(),
        )


class AbstractPublisher(abc.ABC):
    """What the relay needs from a broker: send many, wait until all are acknowledged."""

    @abc.abstractmethod
    async def send_all(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Publish outbox rows (topic, key, headers, payload) and wait for every ack.

        ``headers`` is a mapping of header name to text value; ``payload`` the bytes to send."""


class OutboxRelay:
    """Publishes committed outbox rows; woken by commits, polls as a safety net."""

    def __init__(self, engine: AsyncEngine, publisher: AbstractPublisher, *, lock_name: str,
                 poll_s: float = 0.5, batch_size: int = 1000) -> None:
        self._engine = engine
        self._publisher = publisher
        self._lock_name = lock_name
        self._poll_s = poll_s
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._stopping = False
        self.healthy = True

    def notify(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                published = await self.publish_pending()
                self.healthy = True
            except Exception as exc:  # broker or database down: keep the rows, try again
                self.healthy = False
                log.warning("outbox relay failed; will retry", error=str(exc))
                published = 0
            if published >= self._batch_size:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_s)
            except TimeoutError:
                pass
            self._wake.clear()
        await self.drain()

    async def drain(self) -> None:
        """Publish what is left before shutdown (best effort; rows stay if it fails)."""
        try:
            while await self.publish_pending() >= self._batch_size:
                pass
        except Exception as exc:
            log.warning("outbox not drained at shutdown; rows stay for the next start", error=str(exc))

    async def publish_pending(self) -> int:
        """Publish one batch while holding the relay's lock (one relay per schema keeps each
        key's order); 0 when another instance's relay holds it."""
        async with advisory_lock(self._engine, self._lock_name) as held:
            if held is None:
                return 0
            conn = held.conn
            rows = [{"id": id_, "topic": topic, "key": key, "headers": json.loads(headers), "payload": payload}
                    for id_, topic, key, headers, payload
                    in await conn.execute(_PENDING, {"n": self._batch_size})]
            if rows:
                await self._publisher.send_all(rows)
                await conn.execute(_PUBLISHED, {"ids": [r["id"] for r in rows]})
                await conn.commit()
                OUTBOX_PUBLISHED.labels(service=self._lock_name).inc(len(rows))
            return len(rows)

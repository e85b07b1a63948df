"""Batch consumption with at-least-once delivery, idempotent handlers and dead-lettering.

For each batch: decode every record (a record that cannot be decoded is dead-lettered
with the reason, before the rest is applied), then in ONE transaction claim the event ids
in the inbox, run the handler on the new ones and write its outbox rows; commit; only then
commit the Kafka offsets.

A subscription may also name a ``prepare`` step: the batch's work that needs no database
(the cleaner's screening). The consumer then runs a pipeline of two batches: the next
batch is decoded and prepared while the previous one's transaction is in flight, and
each batch's offsets are committed as they are (see ``kafka.Pipeline``).

A handler failure is retried: first the batch is split so that one poison message
cannot hold back the rest, then each message gets ``attempts`` tries with exponential
backoff before it goes to ``<topic>.dlq`` with the reason. Failures of the
infrastructure itself (database or broker unreachable, :class:`TransientError`) never
dead-letter: the batch is rewound and retried until the dependency is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeGuard, TypeVar

from pydantic import ValidationError

from distillery_contracts.base import Event, TopicSpec
from distillery_contracts.envelope import Envelope
from distillery_contracts.upcasting import decode_event
from distillery_runtime.deadletter import AbstractDeadLetterSink, FailedRecord
from distillery_runtime.errors import ConfigError, PermanentError
from distillery_runtime.faults import crash_point
from distillery_runtime.infra import is_infrastructure_error
from distillery_runtime.logs import get_logger
from distillery_runtime.safe_errors import safe_summary
from distillery_runtime.metrics import (
    BATCH_SECONDS,
    HANDLER_RETRIES,
    MESSAGES_APPLIED,
    MESSAGES_CONSUMED,
    MESSAGES_DUPLICATE,
    MESSAGES_SKIPPED,
)
from distillery_runtime.uow import UnitOfWork

log = get_logger(__name__)


class RecordLike(Protocol):
    """The parts of a Kafka ConsumerRecord the runtime reads."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class Delivery(Generic[E]):
    """One decoded message as a handler sees it: the event typed as its subscription names it."""

    envelope: Envelope
    event: E
    topic: str
    partition: int
    offset: int
    key: str | None

    @property
    def event_id(self) -> str:
        return self.envelope.event_id


def delivery_of(event: E, *, offset: int = 0, topic: str = "test", producer: str = "test/1",
                event_id: str | None = None, correlation_id: str | None = None) -> Delivery[E]:
    """``event`` as a consumer hands it to its handler (at ``offset`` of partition 0, keyed
    as it is published), so that handlers' tests deliver events without a broker."""
    envelope = Envelope.new(event_type=event.event_type, schema_version=event.schema_version, producer=producer,
                            event_id=event_id or event.event_id(), correlation_id=correlation_id)
    return Delivery(envelope, event, topic, 0, offset, event.partition_key())


BatchHandler = Callable[[UnitOfWork, list[Delivery[E]]], Awaitable[None]]
Prepare = Callable[[list[Delivery[E]]], Awaitable[None]]


@dataclass
class Subscription(Generic[E]):
    """A topic, the event type its handler applies, the handler, and the consumer group.

    The handler receives only deliveries of ``event`` (a type, its subclasses, or a tuple of
    types for a handler that needs a topic's several types in one transaction, split with
    :func:`of_type`), already typed: other event types the topic carries are skipped by the
    runtime, so no handler filters with ``isinstance`` or casts.
    """

    topic: TopicSpec
    event: type[E] | tuple[type[E], ...]
    handler: BatchHandler[E]
    consumer: str = ""
    group: str | None = None
    batch_size: int | None = None
    prepare: Prepare[E] | None = None
    """The work on a batch that needs no database, before its transaction (say, computing what
    the handler will look up by event id). It changes no stored state and may run while the
    previous batch's transaction is in flight; a failure in it only costs the handler the
    work (it is logged, and the handler must then do it itself)."""

    def __post_init__(self) -> None:
        self.consumer = self.consumer or getattr(self.handler, "__name__", "handler")
        wanted = self.event if isinstance(self.event, tuple) else (self.event,)
        for event in wanted:
            if not any(issubclass(carried, event) for carried in self.topic.events):
                raise ConfigError(f"{self.topic.name} carries no {event.__name__} "
                                  f"(it carries {', '.join(e.__name__ for e in self.topic.events)})")

    def accepts(self, delivery: Delivery[Event]) -> TypeGuard[Delivery[E]]:
        return isinstance(delivery.event, self.event)


T = TypeVar("T", bound=Event)


def of_type(deliveries: Sequence[Delivery[Any]], event: type[T]) -> list[Delivery[T]]:
    """The deliveries whose event is a ``event``, typed so (for handlers of several types)."""
    return [d for d in deliveries if isinstance(d.event, event)]


@dataclass
class DecodedBatch:
    """A batch decoded (and prepared), waiting for its transaction."""

    deliveries: list[tuple[RecordLike, Delivery[Event]]] = field(default_factory=list)
    undecodable: list[tuple[RecordLike, Exception]] = field(default_factory=list)


class BatchProcessor:
    """Applies batches of records for one subscription; see the module docstring."""

    def __init__(self, *, service: str, subscription: Subscription[Any], group: str,
                 new_uow: Callable[[], UnitOfWork], dead_letters: AbstractDeadLetterSink,
                 attempts: int = 5, backoff_s: float = 0.2) -> None:
        self.service = service
        self.sub = subscription
        self.group = group
        self._new_uow = new_uow
        self._dead_letters = dead_letters
        self._attempts = attempts
        self._backoff_s = backoff_s

    async def process(self, records: Sequence[RecordLike]) -> None:
        """Apply ``records``; raises only for infrastructure failures (caller rewinds)."""
        await self.apply(await self.prepare(records))

    async def prepare(self, records: Sequence[RecordLike]) -> DecodedBatch:
        """Decode ``records`` and run the subscription's ``prepare``: nothing stored, nothing sent."""
        topic = self.sub.topic.name
        MESSAGES_CONSUMED.labels(self.service, topic).inc(len(records))
        batch = DecodedBatch()
        for record in records:
            try:
                delivery = self.decode(record)
            except Exception as exc:
                batch.undecodable.append((record, exc))
                continue
            if self.sub.accepts(delivery):
                batch.deliveries.append((record, delivery))
            else:
                MESSAGES_SKIPPED.labels(self.service, topic).inc()
        if batch.deliveries and self.sub.prepare is not None:
            try:
                await self.sub.prepare([d for _, d in batch.deliveries])
            except Exception as exc:  # the handler does the work itself, and fails there if it must
                log.warning("preparing a batch failed; its handler does the work", error=safe_summary(exc))
        return batch

    async def apply(self, batch: DecodedBatch) -> None:
        """Dead-letter what could not be decoded, then apply the rest (raises only for
        infrastructure failures: the caller rewinds)."""
        with BATCH_SECONDS.labels(self.service, self.sub.topic.name).time():
            for record, exc in batch.undecodable:
                await self._dead_letter(record, exc, attempts=1)
            if batch.deliveries:
                await self._apply_isolating(batch.deliveries)

    def decode(self, record: RecordLike) -> Delivery[Event]:
        envelope = Envelope.from_headers(record.headers or ())
        if record.value is None:
            raise PermanentError("message has no value")
        event = decode_event(self.sub.topic, envelope, record.value)
        return Delivery(
            envelope=envelope,
            event=event,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key.decode("utf-8", "replace") if record.key is not None else None,
        )

    async def _apply_isolating(self, deliveries: list[tuple[RecordLike, Delivery[Event]]]) -> None:
        try:
            await self._apply_once([d for _, d in deliveries])
            return
        except Exception as exc:
            if is_infrastructure_error(exc):
                raise
            if len(deliveries) == 1:
                first_error: Exception | None = exc
            else:
                log.warning("batch failed; applying its messages one by one", error=safe_summary(exc))
                first_error = None
        for record, delivery in deliveries:
            await self._apply_with_retries(record, delivery, first_error)

    async def _apply_with_retries(self, record: RecordLike, delivery: Delivery[Event],
                                  first_error: Exception | None) -> None:
        error = first_error
        start = 2 if first_error is not None else 1
        if first_error is not None and _is_permanent(first_error):
            await self._dead_letter(record, first_error, attempts=1)
            return
        for attempt in range(start, self._attempts + 1):
            if error is not None:
                HANDLER_RETRIES.labels(self.service, self.sub.topic.name).inc()
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 2))
            try:
                await self._apply_once([delivery])
                return
            except Exception as exc:
                if is_infrastructure_error(exc):
                    raise
                error = exc
                if _is_permanent(exc):
                    await self._dead_letter(record, exc, attempts=attempt)
                    return
        assert error is not None
        await self._dead_letter(record, error, attempts=self._attempts)

    async def _apply_once(self, deliveries: list[Delivery[Event]]) -> None:
        topic = self.sub.topic.name
        async with self._new_uow() as uow:
            fresh_ids = await uow.claim(self.sub.consumer, [d.event_id for d in deliveries])
            seen: set[str] = set()
            fresh = []
            for d in deliveries:
                if d.event_id in fresh_ids and d.event_id not in seen:
                    seen.add(d.event_id)
                    fresh.append(d)
            if len(fresh) < len(deliveries):
                MESSAGES_DUPLICATE.labels(self.service, topic).inc(len(deliveries) - len(fresh))
            if fresh:
                await self.sub.handler(uow, fresh)
            await uow.commit()
        crash_point("after_db_commit")
        MESSAGES_APPLIED.labels(self.service, topic).inc(len(fresh))

    async def _dead_letter(self, record: RecordLike, error: BaseException, attempts: int) -> None:
        log.error(
            "dead-lettering message",
            topic=record.topic, partition=record.partition, offset=record.offset,
            error_type=type(error).__name__, error=safe_summary(error), attempts=attempts,
        )
        await self._dead_letters.send(FailedRecord(record=record, error=error, attempts=attempts,
                                                   group=self.group))


def _is_permanent(exc: BaseException) -> bool:
    return isinstance(exc, PermanentError | ValidationError | ValueError | TypeError | KeyError)

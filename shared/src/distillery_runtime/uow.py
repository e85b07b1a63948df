"""Unit of work: one transaction holding a handler's effects, inbox rows and outbox rows.

The inbox claim and the outbox insert (``ADD_OUTBOX`` in outbox.py) are each one statement
over arrays (``unnest``), whatever the batch size: a statement built per row (or per batch
with one bind parameter per value) is compiled anew every time, which cost more than the
handler's own work on batches of a thousand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from distillery_contracts.base import Event
from distillery_contracts.envelope import Envelope
from distillery_runtime.metrics import EVENTS_TOO_LARGE
from distillery_runtime.outbox import ADD_OUTBOX, OutgoingMessage, outbox_columns
from distillery_runtime.sizes import DEFAULT_MAX_EVENT_BYTES, EventTooLarge

_CLAIM = text("""
    insert into inbox (consumer, event_id)
    select :consumer, e from unnest(cast(:event_ids as text[])) as u(e)
    on conflict do nothing
    returning event_id
""")


class UnitOfWork:
    """Opens a session; ``commit`` writes the outbox rows and commits everything at once.

    Leaving the block without ``commit`` rolls back: no effect, no inbox row, no event.
    An event over ``max_event_bytes`` is refused by ``emit`` (:class:`EventTooLarge`), so it
    never reaches the outbox, where the broker would refuse it on every relay round.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], producer: str,
                 on_commit: Callable[[Sequence[tuple[int, OutgoingMessage]]], None] | None = None, *,
                 max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._sessions = sessions
        self.producer = producer
        self.max_event_bytes = max_event_bytes
        self._on_commit = on_commit
        self._outgoing: list[OutgoingMessage] = []
        self._after_commit: list[Callable[[], None]] = []
        self.session: AsyncSession

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessions()
        self._outgoing = []
        self._after_commit = []
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._after_commit = []
        if self.session.in_transaction():
            await self.session.rollback()
        await self.session.close()

    async def claim(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        """Record ``event_ids`` as applied by ``consumer``; return those not applied before."""
        if not event_ids:
            return set()
        rows = await self.session.execute(_CLAIM, {"consumer": consumer, "event_ids": list(dict.fromkeys(event_ids))})
        return set(rows.scalars())

    def emit(self, topic: str, event: Event, *, cause: Envelope | None = None,
             correlation_id: str | None = None, key: str | None = None, body: bytes | None = None) -> Envelope:
        """Queue ``event`` for ``topic``; it is stored at commit and published after it.

        ``body`` is the event's JSON when the caller has it written already (byte for byte what
        ``model_dump_json`` writes: the cleaner joins an accepted example's from its messages').

        Raises :class:`EventTooLarge` (a permanent error: a consumer dead-letters the message
        that caused it, with the reason) when the event is over ``max_event_bytes``."""
        envelope = Envelope.new(
            event_type=event.event_type,
            schema_version=event.schema_version,
            producer=self.producer,
            event_id=event.event_id(),
            correlation_id=correlation_id or (cause.correlation_id if cause else None),
            causation_id=cause.event_id if cause else None,
        )
        try:
            message = OutgoingMessage.of(topic, event, envelope, key=key, max_bytes=self.max_event_bytes, body=body)
        except EventTooLarge:
            EVENTS_TOO_LARGE.labels(service=self.producer.split("/")[0], topic=topic, stage="emit").inc()
            raise
        self._outgoing.append(message)
        return envelope

    @property
    def pending(self) -> list[OutgoingMessage]:
        return list(self._outgoing)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this transaction has committed (never, if it rolls back): what
        it tells another task (a worker woken to act on what was just stored) is then true."""
        self._after_commit.append(callback)

    def _committed(self) -> None:
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    async def commit(self) -> None:
        """Store the outbox rows and commit; ``on_commit`` is then given each row stored (its id
        and message), for the relay to publish without reading it back."""
        stored: list[tuple[int, OutgoingMessage]] = []
        if self._outgoing:
            rows = await self.session.execute(ADD_OUTBOX, outbox_columns(self._outgoing))
            first: dict[str, OutgoingMessage] = {}
            for message in self._outgoing:  # an event emitted twice is stored once, as first emitted
                first.setdefault(message.envelope.event_id, message)
            stored = [(row_id, first[event_id]) for row_id, event_id in rows]
        await self.session.commit()
        self._outgoing = []
        if stored and self._on_commit:
            self._on_commit(stored)
        self._committed()


class FakeUnitOfWork(UnitOfWork):
    """A unit of work without a database, for unit tests of handlers and the consumer.

    Records what was claimed, emitted and committed; ``fail_with`` makes the handler's
    transaction fail at commit, as a broken database would.
    """

    def __init__(self, applied: set[tuple[str, str]] | None = None, producer: str = "test/0", *,
                 max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.producer = producer
        self.max_event_bytes = max_event_bytes
        self.applied = applied if applied is not None else set()
        self._outgoing = []
        self._after_commit = []
        self._claimed: set[tuple[str, str]] = set()
        self.committed: list[OutgoingMessage] = []
        self.commits = 0
        self.fail_with: BaseException | None = None

    async def __aenter__(self) -> FakeUnitOfWork:
        self._outgoing = []
        self._after_commit = []
        self._claimed = set()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._outgoing = []
        self._after_commit = []
        self._claimed = set()

    async def claim(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        fresh = {e for e in event_ids if (consumer, e) not in self.applied}
        self._claimed |= {(consumer, e) for e in fresh}
        return fresh

    async def commit(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.applied |= self._claimed
        self.committed.extend(self._outgoing)
        self.commits += 1
        self._outgoing = []
        self._committed()

"""Retention: rows that grow with traffic are deleted once nothing can need them.

Every service runs :func:`inbox_pruner` (``ServiceRunner`` starts it), and a service with
tables of its own that grow with traffic runs a :func:`pruning_worker` of its own. Both
delete in bounded batches, one short transaction each, so a backlog (the first run on a
year-old database) never holds locks for long; a full batch is followed by the next at once.

The inbox's rows are how a consumer knows it applied an event before, and the broker can
deliver an event again for as long as it keeps it, not only within a crash's redelivery
window: ``distillery replay --to-earliest`` re-reads a whole topic, and a consumer group
stopped longer than the broker keeps its offsets restarts from the earliest message. So a
consumer's rows are kept for its topic's retention plus ``inbox_retention_margin_days``
(Kafka deletes a message only with its whole log segment, up to ``segment.ms``, 7 days by
default, after its retention), and for ever when the topic is kept for ever. Rows of a
consumer the service no longer runs (a renamed handler, the cleaner's previous version)
are kept as long as the longest-kept rows of the consumers it runs: if that code comes
back, it is redelivered no older events than those.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from distillery_runtime.clock import utc_now
from distillery_runtime.consumer import Subscription
from distillery_runtime.logs import get_logger
from distillery_runtime.metrics import ROWS_DELETED
from distillery_runtime.service import ServiceContext
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork
from distillery_runtime.worker import Worker

log = get_logger(__name__)

Prune = Callable[[UnitOfWork, int], Awaitable[int]]
"""Deletes at most ``limit`` rows past their retention in the unit of work; returns how many."""


def pruning_worker(name: str, prune: Prune, settings: RuntimeSettings) -> Worker:
    """A Worker that runs ``prune`` every ``retention_interval_s``, each batch committed on its
    own, until a batch comes back short of ``retention_batch_size``."""
    limit = settings.retention_batch_size

    async def step(ctx: ServiceContext) -> bool:
        async with ctx.new_uow() as uow:
            deleted = await prune(uow, limit)
            await uow.commit()
        if deleted:
            ROWS_DELETED.labels(ctx.name, name).inc(deleted)
            log.info("rows past their retention deleted", service=ctx.name, worker=name, rows=deleted)
        return deleted >= limit

    return Worker(name, step, settings.retention_interval_s)


@dataclass(frozen=True)
class InboxRetention:
    """How long each consumer's inbox rows are kept; None: for ever."""

    by_consumer: Mapping[str, timedelta | None]
    others: timedelta
    """Rows of consumers the service does not run now."""

    @classmethod
    def of(cls, subscriptions: Sequence[Subscription[Any]], margin: timedelta) -> InboxRetention:
        """Each subscription's consumer keeps its rows for its topic's retention plus ``margin``."""
        by_consumer: dict[str, timedelta | None] = {}
        for sub in subscriptions:
            ms = sub.topic.retention_ms
            keep = None if ms is None or sub.topic.compacted else timedelta(milliseconds=ms) + margin
            before = by_consumer.get(sub.consumer, timedelta(0))
            by_consumer[sub.consumer] = None if keep is None or before is None else max(keep, before)
        return cls(by_consumer, max((k for k in by_consumer.values() if k is not None), default=margin))

    def keep(self, consumer: str) -> timedelta | None:
        return self.by_consumer.get(consumer, self.others)


# The consumers present, one index probe each (a loose index scan of the primary key),
# instead of reading every row as ``select distinct`` would.
_CONSUMERS = text("""
    with recursive present(consumer) as (
        (select consumer from inbox order by consumer limit 1)
        union all
        select (select i.consumer from inbox i where i.consumer > p.consumer order by i.consumer limit 1)
        from present p where p.consumer is not null
    )
    select consumer from present where consumer is not null
""")

# Oldest first along (consumer, applied_at); rows another instance is deleting are skipped.
_DELETE_OLDER = text("""
    with gone as (
        delete from inbox
        where consumer = :consumer and event_id in (
            select event_id from inbox
            where consumer = :consumer and applied_at < :before
            order by applied_at
            limit :limit
            for update skip locked)
        returning 1
    )
    select count(*) from gone
""")


async def prune_inbox(session: AsyncSession, retention: InboxRetention, now: datetime, limit: int) -> int:
    """Delete at most ``limit`` inbox rows past their consumer's retention; returns how many."""
    deleted = 0
    for consumer in (await session.execute(_CONSUMERS)).scalars().all():
        keep = retention.keep(consumer)
        if keep is None:
            continue
        if deleted >= limit:
            break
        result = await session.execute(
            _DELETE_OLDER, {"consumer": consumer, "before": now - keep, "limit": limit - deleted})
        deleted += int(result.scalar_one())
    return deleted


def inbox_pruner(subscriptions: Sequence[Subscription[Any]], settings: RuntimeSettings,
                 clock: Callable[[], datetime] = utc_now) -> Worker:
    """The Worker that keeps a service's inbox to its retention (see the module docstring)."""
    retention = InboxRetention.of(subscriptions, timedelta(days=settings.inbox_retention_margin_days))

    async def prune(uow: UnitOfWork, limit: int) -> int:
        return await prune_inbox(uow.session, retention, clock(), limit)

    return pruning_worker("prune_inbox", prune, settings)

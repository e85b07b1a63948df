"""The ingester's database and outbox, opened by a process that is not the service.

``distillery ingest import`` runs the import in the CLI process, on the ingester's own
tables (migrated first), so that imports and live capture share one record of what was
published. Its events go through the ingester's outbox; this process publishes them, or
leaves them to a running ingester's relay when that one holds the outbox lock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from distillery_runtime.db import check_database, create_engine, session_factory
from distillery_runtime.kafka import KafkaPublisher, check_broker
from distillery_runtime.migrations import migrate
from distillery_runtime.outbox import OutboxRelay
from distillery_runtime.tables import outbox
from distillery_runtime.uow import UnitOfWork
from distillery_trace_ingester import __version__
from distillery_trace_ingester.adapters.store import StoreFactory, sql_store
from distillery_trace_ingester.config import MIGRATIONS, NAME, SCHEMA


@dataclass
class StandaloneDatabase:
    """Units of work on the ingester's schema, its SQL store, and a way to empty its outbox."""

    engine: AsyncEngine
    bootstrap: str
    new_uow: Callable[[], UnitOfWork]
    store: StoreFactory = sql_store

    async def publish_outbox(self, timeout_s: float) -> int:
        """Publish what waits in the outbox; how many events still wait after ``timeout_s``."""
        publisher = KafkaPublisher(self.bootstrap, f"{NAME}-import")
        relay = OutboxRelay(self.engine, publisher, lock_name=f"outbox:{SCHEMA}")
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                await relay.publish_pending()  # 0 when a running ingester holds the lock: it publishes them
                async with self.engine.connect() as conn:
                    waiting: int = (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()
                if waiting == 0 or time.monotonic() > deadline:
                    return waiting
                await asyncio.sleep(0.2)
        finally:
            await publisher.stop()


@asynccontextmanager
async def open_standalone(database_url: str, bootstrap: str) -> AsyncIterator[StandaloneDatabase]:
    """The broker checked, the ingester's schema migrated, units of work on it."""
    await check_broker(bootstrap)
    engine = create_engine(database_url, SCHEMA)
    try:
        await check_database(engine)
        await migrate(engine, SCHEMA, MIGRATIONS)
        sessions = session_factory(engine)
        producer = f"{NAME}/{__version__}"
        yield StandaloneDatabase(engine, bootstrap, lambda: UnitOfWork(sessions, producer))
    finally:
        await engine.dispose()

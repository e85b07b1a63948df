"""The ingester's work run from the command line, against its own schema and the broker.

``distillery ingest import`` runs the import here, in the CLI process, on the ingester's
tables (migrated first), so that imports and live capture share one record of what was
published. Its events go through the ingester's outbox; this process publishes them,
or leaves them to a running ingester's relay when that one holds the outbox lock.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import func, select

from distillery_runtime.db import check_database, create_engine, session_factory
from distillery_runtime.kafka import KafkaPublisher, check_broker
from distillery_runtime.migrations import migrate
from distillery_runtime.outbox import OutboxRelay
from distillery_runtime.tables import outbox
from distillery_runtime.uow import UnitOfWork
from distillery_trace_ingester import __version__
from distillery_trace_ingester.adapters.repository import SqlIngesterRepository
from distillery_trace_ingester.adapters.uow import SqlIngesterUnitOfWork
from distillery_trace_ingester.app import MIGRATIONS, NAME, SCHEMA
from distillery_trace_ingester.imports import ImportReport, import_export
from distillery_trace_ingester.status import ingester_status


async def run_import(database_url: str, bootstrap: str, project_id: str, file: Path,
                     scores_file: Path | None = None, *, publish_timeout_s: float = 120.0) -> tuple[ImportReport, int]:
    """Import ``file``; returns the report and how many events still wait in the outbox."""
    await check_broker(bootstrap)
    engine = create_engine(database_url, SCHEMA)
    try:
        await check_database(engine)
        await migrate(engine, SCHEMA, MIGRATIONS)
        sessions = session_factory(engine)
        producer = f"{NAME}/{__version__}"
        with file.open(encoding="utf-8") as lines:
            score_lines = scores_file.open(encoding="utf-8") if scores_file else None
            try:
                report = await import_export(
                    lambda: SqlIngesterUnitOfWork(lambda: UnitOfWork(sessions, producer)), project_id,
                    lines, score_lines or (), file=str(file), scores_file=str(scores_file) if scores_file else None)
            finally:
                if score_lines:
                    score_lines.close()
        waiting = await _publish_outbox(engine, bootstrap, publish_timeout_s)
        return report, waiting
    finally:
        await engine.dispose()


async def _publish_outbox(engine, bootstrap: str, timeout_s: float) -> int:
    publisher = KafkaPublisher(bootstrap, f"{NAME}-import")
    relay = OutboxRelay(engine, publisher, lock_name=f"outbox:{SCHEMA}")
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            await relay.publish_pending()  # 0 when a running ingester holds the lock: it publishes them
            async with engine.connect() as conn:
                waiting = (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()
            if waiting == 0 or time.monotonic() > deadline:
                return waiting
            await asyncio.sleep(0.2)
    finally:
        await publisher.stop()


async def read_status(database_url: str) -> dict:
    """The ingester's status from its schema (empty when it has never run)."""
    engine = create_engine(database_url, SCHEMA)
    try:
        await check_database(engine)
        async with session_factory(engine)() as session:
            if not (await session.execute(select(func.to_regclass("watermarks")))).scalar():
                return {"projects": [], "backfills": [], "imports": []}
            return await ingester_status(SqlIngesterRepository(session))
    finally:
        await engine.dispose()

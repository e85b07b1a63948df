"""Alembic migrations per service, each in its own schema, run under an advisory lock.

A service's ``migrations/env.py`` is two lines::

    from distillery_runtime.migrations import run_env
    run_env()

and its first revision calls :func:`create_runtime_tables` for the inbox and outbox.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from distillery_runtime.tables import runtime_metadata


def run_env() -> None:
    """Body of every service's env.py: migrate on the connection the runtime hands over."""
    config = context.config
    connection: Connection = config.attributes["connection"]
    schema: str = config.attributes["schema"]
    context.configure(connection=connection, version_table_schema=schema, transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()


def create_runtime_tables(bind: Connection) -> None:
    """Create the inbox and outbox in the current schema (call from a first revision)."""
    runtime_metadata.create_all(bind)
    store_outbox_payloads_uncompressed(bind)


def store_outbox_payloads_uncompressed(bind: Connection) -> None:
    """Keep outbox payloads inline and uncompressed (a revision may call this on its own).

    An outbox row lives for well under a second: it is written, read back once by the
    relay and deleted. By default PostgreSQL compresses (pglz) and moves out of line any
    payload above 2 KB, which for events of several KB cost the database about three
    times the insert itself. Rows up to a page now stay inline, uncompressed.
    """
    bind.execute(text("alter table outbox alter column payload set storage external"))
    bind.execute(text("alter table outbox set (toast_tuple_target = 8160)"))


def store_outbox_payloads_compressed(bind: Connection) -> None:
    """Undo :func:`store_outbox_payloads_uncompressed` (PostgreSQL's defaults)."""
    bind.execute(text("alter table outbox alter column payload set storage extended"))
    bind.execute(text("alter table outbox reset (toast_tuple_target)"))


def _upgrade(connection: Connection, schema: str, migrations_dir: Path, target: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    command.upgrade(config, target)


async def migrate(engine: AsyncEngine, schema: str, migrations_dir: Path, target: str = "head") -> None:
    """Bring ``schema`` to ``target``; safe when several instances start at once."""
    async with engine.begin() as conn:
        await conn.execute(text("select pg_advisory_xact_lock(hashtext(:s))"), {"s": f"migrate:{schema}"})
        await conn.execute(text(f'create schema if not exists "{schema}"'))
        await conn.run_sync(_upgrade, schema, migrations_dir, target)

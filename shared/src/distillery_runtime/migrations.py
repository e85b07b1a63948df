"""Alembic migrations per service, each in its own schema, run under an advisory lock.

A service's ``migrations/env.py`` is two lines::

    from distillery_runtime.migrations import run_env
    run_env()

and its revisions create the inbox and outbox with the frozen steps of
:mod:`distillery_runtime.migration_steps`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from distillery_runtime.db import database_unreachable
from distillery_runtime.infra import is_infrastructure_error
from distillery_runtime.logs import get_logger
from distillery_runtime.safe_errors import safe_summary

log = get_logger(__name__)


def run_env() -> None:
    """Body of every service's env.py: migrate on the connection the runtime hands over."""
    config = context.config
    connection: Connection = config.attributes["connection"]
    schema: str = config.attributes["schema"]
    context.configure(connection=connection, version_table_schema=schema, transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()


def _upgrade(connection: Connection, schema: str, migrations_dir: Path, target: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    command.upgrade(config, target)


# Alembic keeps the running migration's context in module globals, so two migrations in
# one process (the demo, tests starting several services) must not interleave.
_ONE_AT_A_TIME = asyncio.Lock()


async def migrate(engine: AsyncEngine, schema: str, migrations_dir: Path, target: str = "head") -> None:
    """Bring ``schema`` to ``target``; safe when several instances start at once."""
    async with _ONE_AT_A_TIME, engine.begin() as conn:
        await conn.execute(text("select pg_advisory_xact_lock(hashtext(:s))"), {"s": f"migrate:{schema}"})
        await conn.execute(text(f'create schema if not exists "{schema}"'))
        await conn.run_sync(_upgrade, schema, migrations_dir, target)


async def migrate_at_start(engine: AsyncEngine, schema: str, migrations_dir: Path, *, attempts: int = 5,
                           backoff_s: float = 1.0,
                           run: Callable[[AsyncEngine, str, Path], Awaitable[None]] = migrate) -> None:
    """A service's start-up migration, tried again when the database goes away meanwhile (a
    restart: each attempt is one transaction, so a dropped one left nothing); after ``attempts``,
    the one line that the database cannot be reached, as when it was down from the start. Any
    other error is the migration's own and is raised at once."""
    for attempt in range(1, attempts + 1):
        try:
            await run(engine, schema, migrations_dir)
            return
        except Exception as exc:
            if not is_infrastructure_error(exc):
                raise
            if attempt == attempts:
                raise database_unreachable(engine, exc) from None
            log.warning("database went away during the start-up migration; trying again",
                        schema=schema, attempt=attempt, error=safe_summary(exc))
            await asyncio.sleep(backoff_s * 2 ** (attempt - 1))

"""PostgreSQL for tests and benchmarks: fresh databases, migrated service schemas, row counts.

A service's schema and migrations are found the way ``distillery migrate`` finds them
(its entry point), so no test repeats where a service keeps its migrations.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from distillery_cli.discovery import migration_target
from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.migrations import migrate


def _admin_url(url: str) -> str:
    """The server's ``postgres`` database, with the plain driver asyncpg accepts."""
    return make_url(url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)


async def create_database(server_url: str, prefix: str = "t") -> str:
    """A new, empty database on the server of ``server_url``; its URL (same driver and user)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_admin_url(server_url))
    try:
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    """Drop the database of ``url``, closing whatever connections are still open on it."""
    conn = await asyncpg.connect(_admin_url(url))
    try:
        await conn.execute(f'drop database if exists "{make_url(url).database}" with (force)')
    finally:
        await conn.close()


async def count_rows(database_url: str, table: str) -> int:
    """``select count(*)`` of ``table`` (schema-qualified); 0 until the service has created it."""
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(f"select count(*) from {table}")
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()


@asynccontextmanager
async def migrated_session(database_url: str, schema: str, migrations: Path) -> AsyncIterator[AsyncSession]:
    """A session on ``schema`` after its migrations ran; what the test wrote is rolled back."""
    engine = create_engine(database_url, schema)
    await migrate(engine, schema, migrations)
    try:
        async with session_factory(engine)() as session:
            yield session
            await session.rollback()
    finally:
        await engine.dispose()


def service_session(database_url: str, service: str) -> AbstractAsyncContextManager[AsyncSession]:
    """:func:`migrated_session` on the schema of ``service`` (its ``distillery run`` name)."""
    return migrated_session(database_url, *migration_target(service))

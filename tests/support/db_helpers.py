"""PostgreSQL for tests and benchmarks: fresh databases, migrated service schemas, row counts.

A service's schema and migrations are found the way ``distillery migrate`` finds them
(its entry point), so no test repeats where a service keeps its migrations.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from distillery_cli.discovery import migration_target
from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.migrations import migrate


def _admin_url(url: str) -> str:
    """The server's ``postgres`` database, with the plain driver asyncpg accepts."""
    return make_url(url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection to ``url``, closed on the way out."""
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


async def create_database(server_url: str, prefix: str = "t") -> str:
    """A new, empty database on the server of ``server_url``; its URL (same driver and user)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    async with connected(_admin_url(server_url)) as conn:
        await conn.execute(f'create database "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    """Drop the database of ``url``, closing whatever connections are still open on it."""
    async with connected(_admin_url(url)) as conn:
        await conn.execute(f'drop database if exists "{make_url(url).database}" with (force)')


async def fetch_rows(database_url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    """The rows of ``sql``; none while its table does not exist (the service has not migrated yet)."""
    async with connected(database_url) as conn:
        try:
            return await conn.fetch(sql, *args)
        except asyncpg.UndefinedTableError:
            return []


async def fetch_value(database_url: str, sql: str, *args: object, default: Any = None) -> Any:
    """The one value ``sql`` selects; ``default`` while its table does not exist yet."""
    async with connected(database_url) as conn:
        try:
            return await conn.fetchval(sql, *args)
        except asyncpg.UndefinedTableError:
            return default


async def count_rows(database_url: str, table: str) -> int:
    """``select count(*)`` of ``table`` (schema-qualified); 0 until the service has created it."""
    return await fetch_value(database_url, f"select count(*) from {table}", default=0)


async def probe_applied(database_url: str) -> dict[str, int]:
    """How often the probe service (probe_service.py) applied each observation id."""
    rows = await fetch_rows(database_url, "select observation_id, applied from probe.seen")
    return {row["observation_id"]: row["applied"] for row in rows}


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

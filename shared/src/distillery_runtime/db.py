"""SQLAlchemy 2 async engine on asyncpg, one PostgreSQL schema per service.

Each service's tables live in its own schema, selected through the connection's
``search_path``; no service reads another's tables.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from distillery_runtime.errors import ConfigError

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def async_url(url: str) -> str:
    """Accept the URL forms people paste (postgres://, postgresql://) and use asyncpg."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"DISTILLERY_DATABASE_URL is not a database URL: expected postgresql://user@host:5432/db"
        ) from None
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise ConfigError(
            f"DISTILLERY_DATABASE_URL must point to PostgreSQL, not {parsed.get_backend_name()!r}"
        )
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable url>"


def create_engine(url: str, schema: str, *, pool_size: int = 5) -> AsyncEngine:
    if not _SCHEMA_NAME.match(schema):
        raise ConfigError(f"schema name {schema!r} is not a plain lower-case identifier")
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # a failing statement's parameters are callers' words: keep them out of the error
        hide_parameters=True,
        connect_args={"server_settings": {"search_path": schema, "application_name": schema}},
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def check_database(engine: AsyncEngine) -> None:
    """Fail with one clear line when the database cannot be reached."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
    except Exception as exc:  # asyncpg and OS errors vary; all mean the same to a user
        raise database_unreachable(engine, exc) from None


def database_unreachable(engine: AsyncEngine, exc: BaseException) -> ConfigError:
    """The one line saying the database cannot be reached, and why."""
    return ConfigError(
        f"cannot connect to PostgreSQL at {redacted(str(engine.url))}: {_reason(exc)}. "
        "Start it ('distillery stack up') or fix DISTILLERY_DATABASE_URL")


def _reason(exc: BaseException) -> str:
    root: BaseException = exc
    while root.__cause__ is not None:
        root = root.__cause__
    message = str(root).strip().splitlines()[0] if str(root).strip() else type(root).__name__
    return message


@asynccontextmanager
async def open_service_schema(database_url: str, schema: str,
                              service: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on ``service``'s schema for reads from outside the service (the CLI, the console).

    Says in one :class:`ConfigError` line what to do when the database cannot be reached
    or the service has not created its tables there yet, instead of a missing-table error.
    """
    engine = create_engine(database_url, schema, pool_size=1)
    try:
        await check_database(engine)
        async with engine.connect() as conn:
            migrated = (await conn.execute(text("select to_regclass('alembic_version')"))).scalar()
        if migrated is None:
            raise ConfigError(f"this database has no {service} tables yet: start the service "
                              f"('distillery run {service}') or run 'distillery migrate {service}'")
        yield session_factory(engine)
    finally:
        await engine.dispose()

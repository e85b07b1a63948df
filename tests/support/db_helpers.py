"""A session on a freshly migrated service schema, for repository contract tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.migrations import migrate


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

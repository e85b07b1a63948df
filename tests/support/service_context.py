"""A service's context over its freshly migrated schema, for driving its workers step by step.

The retention tests use it: a test names the service (``indirect`` parametrisation), inserts
rows of known ages, then runs the service's own pruning worker until it says it is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from distillery_cli.discovery import migration_target
from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.migrations import migrate
from distillery_runtime.service import ServiceContext
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork
from distillery_runtime.worker import Worker


@pytest.fixture
async def service_context(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[ServiceContext]:
    """A context over the freshly migrated schema of the service the test names (``indirect``)."""
    name = request.param
    schema, migrations = migration_target(name)
    engine = create_engine(database_url, schema)
    await migrate(engine, schema, Path(migrations))
    sessions = session_factory(engine)
    yield ServiceContext(name, RuntimeSettings(), engine, sessions, lambda: UnitOfWork(sessions, "test/1"),
                         broker=None, stopping=asyncio.Event())
    await engine.dispose()


async def steps_until_done(worker: Worker, ctx: ServiceContext) -> list[bool]:
    """Each step's answer (more waiting?), run as the worker runs them until one says no."""
    rounds = [bool(await worker.step(ctx))]
    while rounds[-1]:
        rounds.append(bool(await worker.step(ctx)))
    return rounds

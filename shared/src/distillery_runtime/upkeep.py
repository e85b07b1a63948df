"""Vacuuming and analysing a service's own tables when the database server does not.

PostgreSQL's autovacuum keeps tables lean and the planner's statistics current. A server may
run without it (this project's CI machine does). Then every row the outbox and the inbox ever
held stays as a dead row (151,500 in the cleaner's outbox after a 300,000-generation replay),
and with no statistics the planner takes a lookup by a key to match hundreds of rows: the
dataset-builder's retraction of a batch's rejections read its whole examples table (43 ms a
batch at 126,000 examples, and growing with it, where an index lookup takes under 1 ms).

The upkeep worker reads the server's setting each round: when autovacuum is off it vacuums
and analyses every table of the service's schema, one instance at a time (an advisory lock),
every ``DISTILLERY_UPKEEP_INTERVAL_S``, and says so in the log the first time; when it is on,
the round does nothing.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from distillery_runtime.logs import get_logger
from distillery_runtime.service import ServiceContext
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.worker import Worker

log = get_logger(__name__)


async def autovacuum_on(engine: AsyncEngine) -> bool:
    """Whether the server vacuums and analyses tables by itself."""
    async with engine.connect() as conn:
        return bool((await conn.execute(text("select current_setting('autovacuum') = 'on'"))).scalar_one())


async def vacuum_schema(engine: AsyncEngine, schema: str) -> list[str]:
    """``VACUUM (ANALYZE)`` every table of ``schema``, each on its own (vacuum runs outside a
    transaction); the tables' names."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        tables = list((await conn.execute(
            text("select tablename from pg_tables where schemaname = :schema order by tablename"),
            {"schema": schema})).scalars())
        for table in tables:
            await conn.execute(text(f'vacuum (analyze) "{schema}"."{table}"'))
    return tables


def upkeep_worker(schema: str, settings: RuntimeSettings) -> Worker:
    """The Worker that vacuums and analyses ``schema`` while the server's autovacuum is off."""
    told = False

    async def step(ctx: ServiceContext) -> bool:
        nonlocal told
        if await autovacuum_on(ctx.engine):
            return False
        tables = await vacuum_schema(ctx.engine, schema)
        if not told:
            log.info("the database server's autovacuum is off: this service vacuums and analyses its own "
                     "tables", schema=schema, tables=len(tables), every_s=settings.upkeep_interval_s)
            told = True
        return False

    return Worker("upkeep", step, settings.upkeep_interval_s, lock=f"upkeep:{schema}")

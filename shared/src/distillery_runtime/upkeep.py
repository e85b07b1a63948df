"""Vacuuming and analysing a service's own tables when the database server does not.

PostgreSQL's autovacuum keeps tables lean and the planner's statistics current. A server may
run without it (this project's CI machine does). Then every row the outbox and the inbox ever
held stays as a dead row (151,500 in the cleaner's outbox after a 300,000-generation replay),
and with no statistics the planner takes a lookup by a key to match hundreds of rows: the
dataset-builder's retraction of a batch's rejections read its whole examples table (43 ms a
batch at 126,000 examples, and growing with it, where an index lookup takes under 1 ms).

The upkeep worker reads the server's setting each round: when autovacuum is off, it does what
autovacuum would with its default thresholds, from the server's own counts of each table of the
service's schema: a table whose dead rows exceed 50 plus 20% of its live rows is vacuumed, one
changed by more than 50 rows plus 10% since its last analysis is analysed. One instance at a
time (an advisory lock), every ``DISTILLERY_UPKEEP_INTERVAL_S``; it says so in the log the
first time it acts. When autovacuum is on, the round does nothing.
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


_DUE = text("""
    select relname,
           n_dead_tup > 50 + 0.2 * n_live_tup as vacuum,
           n_mod_since_analyze > 50 + 0.1 * n_live_tup as analyse
    from pg_stat_user_tables where schemaname = :schema order by relname
""")


async def upkeep_schema(engine: AsyncEngine, schema: str) -> list[str]:
    """Vacuum and analyse the tables of ``schema`` that autovacuum would (see the module
    docstring), each on its own (vacuum runs outside a transaction); what was done, as the
    statements run."""
    done = []
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table, vacuum, analyse in (await conn.execute(_DUE, {"schema": schema})).all():
            if vacuum or analyse:
                statement = f'{"vacuum (analyze)" if vacuum else "analyze"} "{schema}"."{table}"'
                await conn.execute(text(statement))
                done.append(statement)
    return done


def upkeep_worker(schema: str, settings: RuntimeSettings) -> Worker:
    """The Worker that vacuums and analyses ``schema``'s tables while the server's autovacuum is off."""
    told = False

    async def step(ctx: ServiceContext) -> bool:
        nonlocal told
        if await autovacuum_on(ctx.engine):
            return False
        done = await upkeep_schema(ctx.engine, schema)
        if done and not told:
            log.info("the database server's autovacuum is off: this service vacuums and analyses its own "
                     "tables as autovacuum would", schema=schema, done=done)
            told = True
        return False

    return Worker("upkeep", step, settings.upkeep_interval_s, lock=f"upkeep:{schema}")

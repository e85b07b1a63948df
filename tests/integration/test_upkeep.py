"""The upkeep worker on a real PostgreSQL: with the server's autovacuum off, a service's tables
are vacuumed and analysed by the service where autovacuum would; with it on, left to the server."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import text

from distillery_runtime import upkeep
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.upkeep import upkeep_worker

pytestmark = pytest.mark.integration

FLUSH_COUNTS = text("select pg_stat_force_next_flush()")
"""The writer's row counts reach the server's statistics when its transaction ends, not up to
a second later (PostgreSQL 15)."""


@pytest.fixture
async def probe_with_dead_rows(probe_engine):
    async with probe_engine.begin() as conn:  # dead rows, as the relay leaves them
        await conn.execute(text("insert into probe.seen (observation_id) select 'obs-' || n from generate_series(1, 500) n"))
        await conn.execute(text("delete from probe.seen where observation_id <> 'obs-1'"))
        await conn.execute(FLUSH_COUNTS)
    return probe_engine


async def _analysed(engine) -> dict[str, bool]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "select relname, last_analyze is not null from pg_stat_user_tables where schemaname = 'probe'"))
        return dict(rows.all())


@pytest.mark.parametrize("server_autovacuum", [False, True])
async def test_a_round_vacuums_and_analyses_the_tables_autovacuum_would_only_when_the_server_does_not(
        server_autovacuum, probe_with_dead_rows, monkeypatch):
    probe_engine = probe_with_dead_rows
    async def autovacuum_on(engine) -> bool:
        return server_autovacuum

    monkeypatch.setattr(upkeep, "autovacuum_on", autovacuum_on)
    worker = upkeep_worker("probe", RuntimeSettings())
    assert await worker.step(SimpleNamespace(engine=probe_engine)) is False  # nothing waits for a next round

    analysed = await _analysed(probe_engine)
    assert analysed["seen"] is not server_autovacuum  # 499 dead rows of 500 written
    assert analysed["outbox"] is False and analysed["inbox"] is False  # untouched: nothing to do
    if not server_autovacuum:
        async with probe_engine.connect() as conn:
            dead = (await conn.execute(text(
                "select n_dead_tup from pg_stat_user_tables where schemaname = 'probe' and relname = 'seen'"))).scalar_one()
        assert dead == 0


async def test_the_server_setting_is_read(probe_engine):
    async with probe_engine.connect() as conn:
        expected = (await conn.execute(text("show autovacuum"))).scalar_one() == "on"
    assert await upkeep.autovacuum_on(probe_engine) is expected


async def test_a_table_changed_by_fewer_rows_than_autovacuums_threshold_is_left_alone(probe_engine):
    async with probe_engine.begin() as conn:  # 50 changes to 50 rows: analysed past 50 plus 10% of the rows
        await conn.execute(text("insert into probe.seen (observation_id) select 'obs-' || n from generate_series(1, 50) n"))
        await conn.execute(FLUSH_COUNTS)
    assert await upkeep.upkeep_schema(probe_engine, "probe") == []
    async with probe_engine.begin() as conn:
        await conn.execute(text("insert into probe.seen (observation_id) select 'obs-' || n from generate_series(51, 56) n"))
        await conn.execute(FLUSH_COUNTS)
    assert await upkeep.upkeep_schema(probe_engine, "probe") == ['analyze "probe"."seen"']

"""The upkeep worker on a real PostgreSQL: with the server's autovacuum off, a service's tables
are vacuumed and analysed by the service; with it on, left to the server."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from distillery_runtime import upkeep
from distillery_runtime.db import create_engine
from distillery_runtime.migrations import migrate
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.upkeep import upkeep_worker

pytestmark = pytest.mark.integration

PROBE_MIGRATIONS = Path(__file__).parents[1] / "support" / "probe_migrations"


@pytest.fixture
async def probe_engine(database_url):
    engine = create_engine(database_url, "probe")
    await migrate(engine, "probe", PROBE_MIGRATIONS)
    async with engine.begin() as conn:  # dead rows, as the relay leaves them
        await conn.execute(text("insert into probe.seen (observation_id) select 'obs-' || n from generate_series(1, 500) n"))
        await conn.execute(text("delete from probe.seen where observation_id <> 'obs-1'"))
    yield engine
    await engine.dispose()


async def _analysed(engine) -> dict[str, bool]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "select relname, last_analyze is not null from pg_stat_user_tables where schemaname = 'probe'"))
        return dict(rows.all())


@pytest.mark.parametrize("server_autovacuum", [False, True])
async def test_a_round_vacuums_and_analyses_every_table_of_the_schema_only_when_the_server_does_not(
        server_autovacuum, probe_engine, monkeypatch):
    async def autovacuum_on(engine) -> bool:
        return server_autovacuum

    monkeypatch.setattr(upkeep, "autovacuum_on", autovacuum_on)
    worker = upkeep_worker("probe", RuntimeSettings())
    assert await worker.step(SimpleNamespace(engine=probe_engine)) is False  # nothing waits for a next round

    analysed = await _analysed(probe_engine)
    assert {"seen", "inbox", "outbox"} <= set(analysed)
    assert set(analysed.values()) == {not server_autovacuum}
    if not server_autovacuum:
        async with probe_engine.connect() as conn:
            dead = (await conn.execute(text(
                "select n_dead_tup from pg_stat_user_tables where schemaname = 'probe' and relname = 'seen'"))).scalar_one()
        assert dead == 0


async def test_the_server_setting_is_read(probe_engine):
    async with probe_engine.connect() as conn:
        expected = (await conn.execute(text("show autovacuum"))).scalar_one() == "on"
    assert await upkeep.autovacuum_on(probe_engine) is expected

"""The console's SQL store answers every page exactly as the fake does, for the recorded
cycle fed in order and again shuffled (a replay reads the topics side by side)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from db_helpers import service_session

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "console" / "tests"))

from recorded_streams import CYCLE, RUN, feed, recorded_cycle  # noqa: E402

from distillery_console.adapters.fakes import FakeConsoleStore  # noqa: E402
from distillery_console.adapters.store import SqlConsoleStore  # noqa: E402
from distillery_console.views import read_answers, read_cycle, read_overview  # noqa: E402

pytestmark = pytest.mark.integration


async def pages(store) -> tuple:  # noqa: ANN001
    return (await read_overview(store, 10_000), await read_cycle(store, CYCLE),
            await read_answers(store, RUN, True, 1, 5), await read_answers(store, RUN, False, 2, 5))


@pytest.mark.parametrize("seed", [None, 7])
async def test_the_sql_store_reads_the_pages_the_fake_reads(database_url, seed):
    events = recorded_cycle()
    if seed is not None:
        random.Random(seed).shuffle(events)
    fake = FakeConsoleStore()
    await feed(fake, recorded_cycle())
    async with service_session(database_url, "console") as session:
        sql = SqlConsoleStore(session)
        await feed(sql, events)
        assert await pages(sql) == await pages(fake)

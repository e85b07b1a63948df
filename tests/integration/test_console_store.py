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


def job_dates(job: str, provider: str, base_model: str, hours: int, shutdown: str | None):  # noqa: ANN201
    from datetime import date, timedelta

    from distillery_contracts.finetune import PublishedDates
    from distillery_contracts.registry import FINETUNE_JOBS
    from distillery_contracts.samples import sample_finetune_job_changed
    from recorded_streams import T0

    dates = PublishedDates(source="Azure model deprecation", shutdown=date.fromisoformat(shutdown)) if shutdown \
        else None
    return (FINETUNE_JOBS, sample_finetune_job_changed(
        job_id=job, cycle_id=f"cycle-{job}", provider=provider, base_model=base_model,
        occurred_at=T0 + timedelta(hours=hours), base_model_dates=dates))


@pytest.mark.parametrize("seed", [None, 3])
async def test_the_latest_published_dates_per_provider_and_base_model_are_read_as_the_fake_reads_them(
        database_url, seed):
    events = [job_dates("a", "azure", "gpt-4o-mini-2024-07-18", 1, "2027-03-01"),
              job_dates("b", "azure", "gpt-4o-mini-2024-07-18", 5, "2027-02-01"),  # the latest for the model
              job_dates("c", "azure", "gpt-4o-mini-2024-07-18", 9, None),  # says nothing: not a newer date
              job_dates("d", "azure", "gpt-4.1-2025-04-14", 3, "2027-04-01"),
              job_dates("e", "openai", "gpt-4o-mini-2024-07-18", 2, "2027-01-14")]
    if seed is not None:
        random.Random(seed).shuffle(events)
    fake = FakeConsoleStore()
    await feed(fake, events)
    async with service_session(database_url, "console") as session:
        sql = SqlConsoleStore(session)
        await feed(sql, events)
        read = await sql.published_dates()
        assert read == await fake.published_dates()
    assert [(provider, model, str(dates.shutdown)) for provider, model, dates in read] == [
        ("openai", "gpt-4o-mini-2024-07-18", "2027-01-14"), ("azure", "gpt-4.1-2025-04-14", "2027-04-01"),
        ("azure", "gpt-4o-mini-2024-07-18", "2027-02-01")]  # oldest first, so a later one wins when merged

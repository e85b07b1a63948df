"""One contract for the ingester's repository, run on the fake and on PostgreSQL."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.migrations import migrate
from distillery_trace_ingester.adapters.fakes import FakeIngesterRepository
from distillery_trace_ingester.adapters.repository import SqlIngesterRepository
from distillery_trace_ingester.app import MIGRATIONS, SCHEMA
from distillery_trace_ingester.domain.records import Backfill, Claim, Counts, Outcome
from distillery_trace_ingester.samples import T0

pytestmark = pytest.mark.integration


@asynccontextmanager
async def sql_repository(database_url):
    engine = create_engine(database_url, SCHEMA)
    await migrate(engine, SCHEMA, MIGRATIONS)
    async with session_factory(engine)() as session:
        yield SqlIngesterRepository(session)
        await session.rollback()
    await engine.dispose()


@asynccontextmanager
async def fake_repository(database_url):
    yield FakeIngesterRepository()


@pytest.fixture(params=["fake", "sql"])
async def repo(request, database_url):
    opened = fake_repository if request.param == "fake" else sql_repository
    async with opened(database_url) as repository:
        yield repository


def claim(n: int, outcome: Outcome = Outcome.PUBLISHED, minutes: int = 0) -> Claim:
    return Claim(f"obs-{n}", f"trace-{n}", f"call-{n}", T0 + timedelta(minutes=minutes), outcome)


async def test_a_generation_is_claimed_once_per_project(repo):
    assert await repo.claim("a", [claim(1), claim(2)]) == {"obs-1", "obs-2"}
    assert await repo.claim("a", [claim(2), claim(3)]) == {"obs-3"}
    assert await repo.claim("b", [claim(1)]) == {"obs-1"}
    assert await repo.published_ids("a", ["obs-1", "obs-3", "obs-9"]) == {"obs-1", "obs-3"}


async def test_late_scores_only_target_published_generations(repo):
    await repo.claim("a", [claim(1), claim(2, Outcome.DEAD_LETTERED)])
    targets = await repo.targets("a", ["obs-1", "obs-2", "obs-3"])
    assert list(targets) == ["obs-1"] and targets["obs-1"].session_id == "call-1"


async def test_each_score_is_claimed_once(repo):
    assert await repo.claim_scores("a", [("obs-1", "s1"), ("obs-1", "s2")]) == {("obs-1", "s1"), ("obs-1", "s2")}
    assert await repo.claim_scores("a", [("obs-1", "s2"), ("obs-1", "s3")]) == {("obs-1", "s3")}
    assert await repo.sent_scores("a", ["obs-1", "obs-2"]) == {"obs-1": {"s1", "s2", "s3"}}


async def test_the_watermark_never_moves_back(repo):
    assert await repo.watermark("a") is None
    await repo.advance_watermark("a", T0 + timedelta(hours=1))
    await repo.advance_watermark("a", T0)
    assert await repo.watermark("a") == T0 + timedelta(hours=1)


async def test_backfills_are_worked_oldest_first_and_a_repeated_request_is_ignored(repo):
    def backfill(n: int, minutes: int) -> Backfill:
        return Backfill(f"bf-{n}", "a", T0, T0 + timedelta(hours=1), T0, "ops", T0 + timedelta(minutes=minutes))

    await repo.add_backfills([backfill(2, 5), backfill(1, 1)])
    await repo.add_backfills([backfill(1, 1)])
    first = await repo.next_backfill("a")
    assert first.backfill_id == "bf-1"
    first.position, first.done, first.counts = T0 + timedelta(hours=1), True, Counts(published=7)
    await repo.save_backfill(first)
    second = await repo.next_backfill("a")
    assert second.backfill_id == "bf-2" and await repo.next_backfill("b") is None
    [newest, oldest] = await repo.recent_backfills()
    assert (oldest.backfill_id, oldest.done, oldest.counts.published) == ("bf-1", True, 7)


async def test_forgetting_drops_old_generations_and_their_scores(repo):
    await repo.claim("a", [claim(1, minutes=0), claim(2, minutes=30)])
    await repo.claim_scores("a", [("obs-1", "s1"), ("obs-2", "s2")])
    assert await repo.forget("a", T0 + timedelta(minutes=10)) == 1
    assert await repo.published_ids("a", ["obs-1", "obs-2"]) == {"obs-2"}
    assert await repo.sent_scores("a", ["obs-1", "obs-2"]) == {"obs-2": {"s2"}}

"""Which student a new candidate must beat, in the fake and in PostgreSQL alike: the
production student, or the candidate of a rollout still under way (cycles may overlap)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from db_helpers import migrated_session

import distillery_evaluator
from distillery_contracts.samples import sample_rollout_decided, sample_route_table
from distillery_evaluator.adapters.fakes import FakeEvalRepository
from distillery_evaluator.adapters.repository import AbstractEvalRepository, SqlEvalRepository

pytestmark = pytest.mark.integration

MIGRATIONS = Path(distillery_evaluator.__file__).parent / "migrations"
FIRST, SECOND = "ft:gpt-4o-mini:first", "ft:gpt-4o-mini:second"


@pytest.fixture(params=["fake", "sql"])
async def repo(request, database_url) -> AsyncIterator[AbstractEvalRepository]:
    if request.param == "fake":
        yield FakeEvalRepository()
        return
    async with migrated_session(database_url, "evaluator", MIGRATIONS) as session:
        yield SqlEvalRepository(session)


def decided(rollout_id: str, candidate: str, decision: str, hours: int):
    base = sample_rollout_decided()
    return sample_rollout_decided(rollout_id=rollout_id, decision_id=f"{rollout_id}:{decision}",
                                  candidate_model=candidate, decision=decision,
                                  decided_at=base.decided_at + timedelta(hours=hours))


async def test_teacher_only_routes_have_no_student_to_beat(repo):
    assert await repo.production("voice-agent") is None


async def test_a_rollout_under_way_sets_the_bar_and_its_end_hands_it_back(repo):
    await repo.save_rollout(decided("ro-1", FIRST, "completed", hours=0))
    assert (await repo.production("voice-agent")).model == FIRST

    await repo.save_rollout(decided("ro-2", SECOND, "started", hours=1))
    assert (await repo.production("voice-agent")).model == SECOND, \
        "a candidate built while ro-2 rolls out would replace SECOND, so it must beat it"

    await repo.save_rollout(decided("ro-2", SECOND, "rolled_back", hours=2))
    base = sample_route_table(route="voice-agent", arms=[
        {"name": "production", "model": FIRST, "provider": "openai", "weight": 90.0},
        {"name": "teacher", "model": "gpt-4.1", "provider": "openai", "weight": 10.0}])
    await repo.save_route(base.model_copy(update={
        "updated_at": sample_rollout_decided().decided_at + timedelta(hours=2, minutes=1)}))
    assert (await repo.production("voice-agent")).model == FIRST

"""An offline run holds its lease for as long as it works (judges included), and an instance that
lost it (the run claimed again by another) saves and publishes nothing more."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

from evaluator_support import make_evaluator, teacher_like

from distillery_contracts.registry import EVALUATIONS_COMPLETED
from distillery_evaluator.adapters.fakes import FakeChatClient
from distillery_evaluator.domain.results import ItemScore
from distillery_evaluator.scorers import ScoringCase

LEASE = timedelta(seconds=0.6)


class SlowJudge:
    """A judge that takes ``seconds`` to score, long past the lease, and scores every case 1.0."""

    name = "slow_judge"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = asyncio.Event()

    async def score(self, cases: list[ScoringCase]) -> list[ItemScore]:
        self.started.set()
        await asyncio.sleep(self.seconds)
        return [ItemScore(c.item.item_id, c.answer.role, self.name, 1.0) for c in cases]


def evaluator_with(repo, tmp_path, judge: SlowJudge, uows: list):
    evaluator = make_evaluator(repo, FakeChatClient(teacher_like), tmp_path, judge=False, uows=uows)
    return dataclasses.replace(evaluator, scorers=[*evaluator.scorers, judge],
                               limits=dataclasses.replace(evaluator.limits, lease=LEASE))


def published(uows: list) -> list:
    return [m for uow in uows for m in uow.committed if m.topic == EVALUATIONS_COMPLETED]


async def test_the_lease_is_renewed_while_the_judges_score(repo, request_, tmp_path):
    judge, uows = SlowJudge(seconds=4 * LEASE.total_seconds()), []
    await repo.create_run(request_, None)
    running = asyncio.create_task(evaluator_with(repo, tmp_path, judge, uows).run_next())
    await asyncio.wait_for(judge.started.wait(), 10)

    for _ in range(3):  # a second instance keeps looking while the judge works
        await asyncio.sleep(LEASE.total_seconds())
        assert await repo.claim_run(datetime.now(UTC), LEASE) is None, "the run was taken over mid-scoring"

    assert await asyncio.wait_for(running, 30) is True
    assert len(published(uows)) == 1 and (await repo.run(request_.run_id)).status == "done"


async def test_an_instance_whose_run_was_taken_over_saves_and_publishes_nothing(repo, request_, tmp_path):
    judge, uows = SlowJudge(seconds=1.0), []
    await repo.create_run(request_, None)
    running = asyncio.create_task(evaluator_with(repo, tmp_path, judge, uows).run_next())
    await asyncio.wait_for(judge.started.wait(), 10)

    later = datetime.now(UTC) + timedelta(hours=1)  # as if this instance had stalled past its lease
    taken = await repo.claim_run(later, LEASE)
    assert taken is not None

    assert await asyncio.wait_for(running, 30) is True
    assert published(uows) == []
    assert not [s for s in await repo.scores(request_.run_id) if s.scorer == "slow_judge"]
    record = await repo.run(request_.run_id)
    assert record.status == "running" and record.lease_token == taken.lease_token

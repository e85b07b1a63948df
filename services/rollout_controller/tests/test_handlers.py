"""The consumers and the evaluation worker: what each records, and when the worker is woken."""

from __future__ import annotations

import asyncio

from distillery_contracts.samples import sample_call_scored, sample_trace_captured
from distillery_rollout_controller.app import build
from distillery_rollout_controller.config import RolloutSettings
from distillery_rollout_controller.handlers import evaluate_live_stage
from distillery_runtime.consumer import delivery_of
from distillery_runtime.service import ServiceContext
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.worker import Worker

TAGS = {"arm": "candidate", "rollout_id": "ro-0001", "stage": 0, "call_id": "call-1"}


async def test_scored_calls_are_recorded_and_wake_the_evaluation_worker(harness):
    await harness.score([sample_call_scored(observation_id="o1")])

    assert list(harness.repo.observations) == ["o1"] and harness.wakes == 1


async def test_the_evaluation_worker_is_woken_only_once_the_calls_are_committed(harness):
    await harness.handlers.on_call_scored(harness.uow, [delivery_of(sample_call_scored(observation_id="o1"))])
    assert harness.wakes == 0, "a worker woken before the commit would not see the calls"

    await harness.uow.commit()

    assert harness.wakes == 1


async def test_traces_the_router_did_not_tag_count_as_traffic_without_waking_the_worker(harness):
    await harness.capture([sample_trace_captured(observation_id="o1", metadata={})])

    assert harness.repo.observations == {} and len(harness.repo.traffic) == 1 and harness.wakes == 0


async def test_a_tagged_trace_is_evidence_for_its_stage_and_wakes_the_worker(harness):
    await harness.capture([sample_trace_captured(metadata=TAGS)])

    assert [o.arm for o in harness.repo.observations.values()] == ["candidate"] and harness.wakes == 1


async def test_the_worker_step_judges_the_live_stage_in_one_committed_unit_of_work(harness, good):
    await harness.passed_evaluation()
    await harness.serve_stage(0, good, good)
    harness.clock.advance(harness.policy.min_stage_seconds)
    ctx = ServiceContext(name="rollout-controller", settings=RuntimeSettings(), engine=None, sessions=None,
                         new_uow=lambda: harness.uow, broker=None, stopping=asyncio.Event())
    commits = harness.uow.commits

    more_waiting = await evaluate_live_stage(harness.controller, lambda uow: harness.repo, ctx)

    assert harness.decisions() == ["started", "advanced"] and harness.uow.commits == commits + 1
    assert more_waiting is False  # the next round comes with the interval or a wake-up


def test_the_service_judges_its_stages_in_one_background_worker():
    spec = build(RuntimeSettings(), RolloutSettings(evaluate_interval_s=7))

    [worker] = spec.background
    assert isinstance(worker, Worker)
    assert (worker.name, worker.interval_s, worker.settle_s) == ("rollout-evaluation", 7, 0.2)

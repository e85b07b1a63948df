"""Handlers turn events into remembered state and queued work, idempotently."""

from __future__ import annotations

from evaluator_support import PROD, STUDENT, TEACHER

from distillery_contracts.finetune import JobStatus
from distillery_contracts.samples import (
    sample_dataset_built,
    sample_finetune_job_changed,
    sample_rollout_decided,
    sample_route_table,
    sample_trace_captured,
)
from distillery_contracts.commands import RunEvaluation
from distillery_evaluator.domain.requests import ModelTarget
from distillery_evaluator.handlers import Handlers
from distillery_runtime.consumer import Delivery, delivery_of
from distillery_runtime.uow import FakeUnitOfWork


def deliver(event, n: int = 0) -> Delivery:
    return delivery_of(event, offset=n, correlation_id="cycle-0007")


def handlers(repo, rate: float = 1.0) -> Handlers:
    return Handlers(lambda uow: repo, ModelTarget(model=TEACHER), "voice-agent", rate)


def succeeded(**changes):
    return sample_finetune_job_changed(status=JobStatus.SUCCEEDED, fine_tuned_model=STUDENT,
                                       dataset_id="ds-0007", **changes)


async def test_a_succeeded_job_queues_one_evaluation_against_the_production_student(repo):
    h = handlers(repo)
    await h.on_dataset_built(FakeUnitOfWork(), [deliver(sample_dataset_built(dataset_id="ds-0007"))])
    table = sample_route_table(route="voice-agent", arms=[
        {"name": "production", "model": PROD, "provider": "openai", "weight": 90.0},
        {"name": "teacher", "model": TEACHER, "provider": "openai", "weight": 10.0}])
    await h.on_route_table_updated(FakeUnitOfWork(), [deliver(table)])

    await h.on_finetune_job_changed(FakeUnitOfWork(), [deliver(succeeded()), deliver(succeeded())])

    [run] = repo.runs.values()
    assert run.request.candidate.model == STUDENT and run.request.production.model == PROD
    assert run.request.validation_uri.endswith("validation.jsonl")
    assert run.cause["correlation_id"] == "cycle-0007"


async def test_a_candidate_is_evaluated_where_the_provider_it_was_trained_with_serves_it(repo):
    await handlers(repo).on_finetune_job_changed(FakeUnitOfWork(), [deliver(succeeded(provider="selfhosted"))])
    await handlers(repo).on_run_evaluation(FakeUnitOfWork(), [deliver(RunEvaluation(model=STUDENT, requested_by="ana"))])

    by_command, by_job = sorted(repo.runs.values(), key=lambda r: r.request.trigger)
    assert by_job.request.candidate.provider == "selfhosted"
    assert by_command.request.candidate.provider == "selfhosted", "the command's model was seen trained"


async def test_jobs_that_did_not_succeed_start_nothing(repo):
    await handlers(repo).on_finetune_job_changed(FakeUnitOfWork(), [deliver(sample_finetune_job_changed(
        status=JobStatus.RUNNING, fine_tuned_model=None))])
    assert repo.runs == {}


async def test_a_completed_rollout_makes_its_candidate_the_production_student(repo):
    h = handlers(repo)
    done = sample_rollout_decided(decision="completed", candidate_model=PROD,
                                  weights={"candidate": 90.0, "teacher": 10.0})
    await h.on_rollout_decided(FakeUnitOfWork(), [deliver(done)])
    assert (await repo.production("voice-agent")).model == PROD


async def test_the_eval_command_compares_with_the_baselines_it_names(repo):
    command = RunEvaluation(model=STUDENT, baselines=[PROD], requested_by="ana")
    await handlers(repo).on_run_evaluation(FakeUnitOfWork(), [deliver(command)])
    [run] = repo.runs.values()
    assert list(run.request.roles()) == ["candidate", "teacher", f"baseline:{PROD}"]
    assert run.request.requested_by == "ana"


def rollout_trace(i: int, rollout: str = "ro-1"):
    return sample_trace_captured(observation_id=f"obs-{i}", metadata={
        "arm": "candidate", "rollout_id": rollout, "stage": 2, "call_id": f"call-{i}"})


async def test_live_calls_of_a_running_rollout_are_sampled_at_the_configured_rate(repo):
    traces = [deliver(rollout_trace(i), i) for i in range(400)]
    await handlers(repo, rate=0.25).on_trace_captured(FakeUnitOfWork(), traces)
    picked = set(repo.queue)
    assert 70 <= len(picked) <= 130
    await handlers(repo, rate=0.25).on_trace_captured(FakeUnitOfWork(), traces)
    assert set(repo.queue) == picked  # a replay samples the same calls, once each


async def test_a_small_arm_is_sampled_more_so_both_arms_gather_evidence_at_the_same_pace(repo):
    def call(i: int, arm: str, weight: float):
        return deliver(sample_trace_captured(observation_id=f"obs-{arm}-{i}", metadata={
            "arm": arm, "arm_weight": weight, "rollout_id": "ro-1", "stage": 0}), i)

    # One minute of a 10% stage: 100 candidate calls and 900 teacher calls.
    calls = [call(i, "candidate", 10.0) for i in range(100)] + [call(i, "teacher", 90.0) for i in range(900)]
    await handlers(repo, rate=0.2).on_trace_captured(FakeUnitOfWork(), calls)
    picked = {arm: sum(1 for obs in repo.queue if obs.startswith(f"obs-{arm}-")) for arm in ("candidate", "teacher")}
    assert picked["candidate"] == 100  # 0.2 x 50/10 = every call
    assert 70 <= picked["teacher"] <= 130  # 0.2 x 50/90 = 11%
    assert sum(picked.values()) < 0.25 * len(calls)


async def test_calls_outside_a_rollout_or_of_an_ended_one_are_not_scored(repo):
    await handlers(repo).on_rollout_decided(FakeUnitOfWork(), [deliver(sample_rollout_decided(
        rollout_id="ro-old", decision="rolled_back", weights={"teacher": 100.0}))])
    plain = sample_trace_captured(observation_id="obs-plain", metadata={})
    await handlers(repo).on_trace_captured(FakeUnitOfWork(), [
        deliver(plain), deliver(rollout_trace(1, "ro-old")), deliver(rollout_trace(2))])
    assert list(repo.queue) == ["obs-2"]
    assert repo.queue["obs-2"].trace["metadata"]["stage"] == 2

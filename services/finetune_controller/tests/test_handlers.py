"""The consumers record work for the worker; they never call the provider themselves."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from distillery_contracts.commands import CancelJob
from distillery_contracts.finetune import JobMetrics
from distillery_contracts.rollout import RolloutDecision
from distillery_contracts.samples import sample_rollout_decided
from distillery_finetune_controller.domain.job import Phase
from distillery_finetune_controller.domain.registry import ModelStatus, RegisteredModel
from distillery_runtime.consumer import delivery_of
from distillery_runtime.errors import PermanentError




async def test_a_dataset_becomes_a_waiting_job_with_configured_overrides(make_world):
    world = make_world(base_model="gpt-4o-mini-2024-07-18", n_epochs=4, learning_rate_multiplier=1.8, seed=7,
                       suffix="clinic")
    await world.deliver(world.dataset("ds-0009", base_model="gpt-4o-mini"))

    job = await world.job("job-ds-0009")
    assert (job.phase, job.status, job.base_model, job.suffix, job.seed) == (
        Phase.WAITING, None, "gpt-4o-mini-2024-07-18", "clinic", 7)
    assert (job.hyperparameters.n_epochs, job.hyperparameters.learning_rate_multiplier) == (4, 1.8)
    assert world.provider.calls == []
    assert world.uow.committed == []  # nothing is announced before the provider has the job


async def test_cancelling_an_unknown_job_is_a_permanent_error(world):
    command = CancelJob(job_id="job-nope", requested_by="ops")
    with pytest.raises(PermanentError, match="no such fine-tuning job"):
        await world.handlers.on_cancel_job(world.uow, [delivery_of(command)])


async def test_cancelling_marks_the_job_for_the_worker(world):
    await world.deliver(world.dataset("ds-0001"))
    await world.handlers.on_cancel_job(world.uow, [delivery_of(CancelJob(job_id="job-ds-0001", requested_by="ops"))])
    job = await world.job()
    assert job.cancel_requested and job.cancel_reason == "requested by ops"
    assert world.provider.calls == []


async def test_rollout_decisions_move_models_through_the_registry(world):
    at = datetime(2026, 11, 2, tzinfo=UTC)
    for name, status in (("ft:new", ModelStatus.CANDIDATE), ("ft:old", ModelStatus.PRODUCTION)):
        await world.registry.register(RegisteredModel(
            fine_tuned_model=name, job_id=f"job-{name}", dataset_id="ds", cycle_id=None, base_model="gpt-4o-mini",
            provider="openai", provider_job_id=None, deployment_name=None, trained_tokens=None,
            metrics=JobMetrics(), status=status, registered_at=at, status_changed_at=at))

    for kind in (RolloutDecision.STARTED, RolloutDecision.ADVANCED, RolloutDecision.COMPLETED):
        decision = sample_rollout_decided(decision_id=f"ro-1:{kind}", decision=kind, rollout_id="ro-1",
                                          candidate_model="ft:new", previous_model="ft:old")
        await world.handlers.on_rollout_decided(world.uow, [delivery_of(decision)])

    statuses = {m.fine_tuned_model: (m.status, m.rollout_id) for m in await world.registry.list_models()}
    assert statuses == {"ft:new": (ModelStatus.PRODUCTION, "ro-1"), "ft:old": (ModelStatus.RETIRED, "ro-1")}

"""Message handlers: each turns a batch of events into stored state or queued work.

Evaluations themselves run in background workers (app.py): a run makes hundreds of
model calls, far too long to hold a consumer batch and its transaction open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from distillery_contracts.commands import RunEvaluation
from distillery_contracts.finetune import FinetuneJobChanged, JobStatus
from distillery_contracts.traces import TraceCaptured
from distillery_evaluator.adapters.repository import AbstractEvalRepository
from distillery_evaluator.domain.requests import (
    ModelTarget,
    RunRequest,
    run_id_for_command,
    run_id_for_job,
)
from distillery_evaluator.online import arm_sample_rate, queued_call, rollout_metadata, sampled
from distillery_runtime.consumer import Delivery, Subscription
from distillery_runtime.logs import get_logger
from distillery_runtime.uow import UnitOfWork

log = get_logger(__name__)


class Handlers:
    """The evaluator's subscriptions; ``repo_for`` gives the store inside a unit of work."""

    def __init__(self, repo_for: Callable[[UnitOfWork], AbstractEvalRepository],
                 teacher: ModelTarget, route: str, sample_rate: float) -> None:
        self.repo_for = repo_for
        self.teacher = teacher
        self.route = route
        self.sample_rate = sample_rate

    async def on_dataset_built(self, uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        repo = self.repo_for(uow)
        for d in deliveries:
            await repo.remember_dataset(d.event)  # type: ignore[arg-type]

    async def on_finetune_job_changed(self, uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        repo = self.repo_for(uow)
        for d in deliveries:
            job: FinetuneJobChanged = d.event  # type: ignore[assignment]
            if job.status is not JobStatus.SUCCEEDED or not job.fine_tuned_model:
                continue
            await repo.remember_model(job.fine_tuned_model, job.provider, job.deployment_name,
                                      job.job_id, job.dataset_id)
            found = await repo.validation_uri(job.dataset_id)
            request = RunRequest(
                run_id=run_id_for_job(job.job_id, job.fine_tuned_model), trigger="finetune",
                candidate=ModelTarget(model=job.fine_tuned_model, deployment=job.deployment_name),
                teacher=self.teacher, production=await repo.production(self.route),
                job_id=job.job_id, dataset_id=job.dataset_id, cycle_id=job.cycle_id,
                validation_uri=found[1] if found else None)
            if await repo.create_run(request, d.envelope.model_dump(mode="json")):
                log.info("evaluation queued", run_id=request.run_id, model=job.fine_tuned_model)

    async def on_run_evaluation(self, uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        repo = self.repo_for(uow)
        for d in deliveries:
            command: RunEvaluation = d.event  # type: ignore[assignment]
            found = await repo.validation_uri(command.dataset_id)
            baselines = [ModelTarget(model=b, deployment=await repo.deployment_of(b))
                         for b in command.baselines]
            request = RunRequest(
                run_id=run_id_for_command(command.command_id), trigger="command",
                candidate=ModelTarget(model=command.model,
                                      deployment=await repo.deployment_of(command.model)),
                teacher=self.teacher, baselines=baselines,
                production=None if baselines else await repo.production(self.route),
                dataset_id=found[0] if found else command.dataset_id,
                validation_uri=found[1] if found else None, requested_by=command.requested_by)
            await repo.create_run(request, d.envelope.model_dump(mode="json"))
            log.info("evaluation requested", run_id=request.run_id, model=command.model,
                     requested_by=command.requested_by)

    async def on_route_table_updated(self, uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        repo = self.repo_for(uow)
        for d in deliveries:
            await repo.save_route(d.event)  # type: ignore[arg-type]

    async def on_rollout_decided(self, uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        repo = self.repo_for(uow)
        for d in deliveries:
            await repo.save_rollout(d.event)  # type: ignore[arg-type]

    async def on_trace_captured(self, uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        """Queue a sample of the calls served under a rollout that has not ended."""
        picked = []
        for d in deliveries:
            if not isinstance(d.event, TraceCaptured):
                continue  # late scores (TraceScored) do not change a served answer
            meta = rollout_metadata(d.event)
            rate = arm_sample_rate(self.sample_rate, d.event.metadata.get("arm_weight"))
            if meta is not None and sampled(d.event.observation_id, rate):
                picked.append((d, meta[0]))
        if not picked:
            return
        repo = self.repo_for(uow)
        ended = await repo.ended_rollouts(sorted({rollout for _, rollout in picked}))
        await repo.enqueue_calls([queued_call(d.event, rollout, d.envelope)  # type: ignore[arg-type]
                                  for d, rollout in picked if rollout not in ended])


def subscriptions_of(handlers: Handlers) -> list[Subscription[Any]]:
    """The service's subscriptions, in the order it subscribes."""
    from distillery_contracts import registry as r
    from distillery_contracts.commands import RunEvaluation
    from distillery_contracts.datasets import DatasetBuilt
    from distillery_contracts.finetune import FinetuneJobChanged
    from distillery_contracts.rollout import RolloutDecided
    from distillery_contracts.routing import RouteTableUpdated
    from distillery_contracts.traces import TraceCaptured

    return [Subscription(r.get_topic(r.DATASETS_BUILT), DatasetBuilt, handlers.on_dataset_built),
            Subscription(r.get_topic(r.FINETUNE_JOBS), FinetuneJobChanged, handlers.on_finetune_job_changed),
            Subscription(r.get_topic(r.COMMANDS_EVAL), RunEvaluation, handlers.on_run_evaluation),
            Subscription(r.get_topic(r.ROUTING_TABLE), RouteTableUpdated, handlers.on_route_table_updated),
            Subscription(r.get_topic(r.ROLLOUT_DECISIONS), RolloutDecided, handlers.on_rollout_decided),
            Subscription(r.get_topic(r.TRACES_RAW), TraceCaptured, handlers.on_trace_captured)]

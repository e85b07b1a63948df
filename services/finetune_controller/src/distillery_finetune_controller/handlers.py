"""Message handlers: a dataset becomes a job, a command marks a job, a decision moves a model.

None of them calls the provider: they record what must happen, in the consumer's
transaction, and the worker does it. A slow or failing provider therefore never holds
back the consumers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from distillery_contracts.commands import CancelJob
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.rollout import RolloutDecided
from distillery_finetune_controller.adapters.registry_repository import AbstractModelRegistry
from distillery_finetune_controller.adapters.repository import AbstractJobRepository
from distillery_finetune_controller.config import FinetuneSettings
from distillery_finetune_controller.domain.job import new_job
from distillery_finetune_controller.domain.registry import decision_changes
from distillery_finetune_controller.worker.context import utc_now
from distillery_runtime.consumer import Delivery
from distillery_runtime.errors import PermanentError
from distillery_runtime.logs import get_logger
from distillery_runtime.uow import UnitOfWork

log = get_logger(__name__)


class FinetuneHandlers:
    """The controller's batch handlers, bound to its settings and stores."""

    def __init__(self, settings: FinetuneSettings, jobs_in: Callable[[UnitOfWork], AbstractJobRepository],
                 registry_in: Callable[[UnitOfWork], AbstractModelRegistry],
                 now: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.jobs_in = jobs_in
        self.registry_in = registry_in
        self.now = now

    async def on_dataset_built(self, uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        jobs = self.jobs_in(uow)
        for delivery in deliveries:
            dataset = delivery.event
            if not isinstance(dataset, DatasetBuilt):
                continue
            cause = delivery.envelope.model_dump(mode="json")
            job = new_job(dataset, self.settings.job_defaults(), cause, self.now())
            added = await jobs.add(job, self.settings.provider_account)
            log.info("dataset queued for fine-tuning" if added else "dataset already has a job",
                     job_id=job.job_id, dataset_id=dataset.dataset_id, base_model=job.base_model,
                     cycle_id=dataset.cycle_id)

    async def on_cancel_job(self, uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        jobs = self.jobs_in(uow)
        for delivery in deliveries:
            command = delivery.event
            if not isinstance(command, CancelJob):
                continue
            job = await jobs.get(command.job_id)
            if job is None:
                raise PermanentError(f"cannot cancel {command.job_id}: no such fine-tuning job")
            if job.finished:
                log.info("cancel ignored: the job has ended", job_id=job.job_id, status=str(job.status))
                continue
            await jobs.request_cancel(job.job_id, command.reason or f"requested by {command.requested_by}")
            log.info("cancel requested", job_id=job.job_id, by=command.requested_by, reason=command.reason)

    async def on_rollout_decided(self, uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        registry = self.registry_in(uow)
        for delivery in deliveries:
            decision = delivery.event
            if not isinstance(decision, RolloutDecided):
                continue
            names = [decision.candidate_model, *([decision.previous_model] if decision.previous_model else [])]
            for change in decision_changes(decision, await registry.concerned(names)):
                await registry.apply(change, decision.decided_at)
                log.info("model registry updated", model=change.fine_tuned_model, status=change.status.value,
                         rollout_id=change.rollout_id, decision=decision.decision.value)

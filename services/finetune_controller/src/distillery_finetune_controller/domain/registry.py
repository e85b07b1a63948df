"""The model registry: every fine-tuned model and where it stands in its life.

candidate → in_rollout → production → retired, driven by the rollout-controller's
decisions. A decision names a model as the router calls it: the fine-tuned model id on
OpenAI and self-hosted, the deployment name on Azure; both find the same entry.

A retired model's deployment is released (a self-hosted adapter is unloaded from the
serving engine): the decision's consumer marks the release due, and the worker asks the
provider, retrying while the provider is unreachable. A model that comes back before its
release is done keeps its deployment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from distillery_contracts.finetune import JobMetrics
from distillery_contracts.rollout import RolloutDecided, RolloutDecision
from distillery_finetune_controller.domain.job import Job, retry_delay


class ModelStatus(StrEnum):
    CANDIDATE = "candidate"
    IN_ROLLOUT = "in_rollout"
    PRODUCTION = "production"
    RETIRED = "retired"


@dataclass(frozen=True)
class RegisteredModel:
    fine_tuned_model: str
    job_id: str
    dataset_id: str
    cycle_id: str | None
    base_model: str
    provider: str
    provider_job_id: str | None
    deployment_name: str | None
    trained_tokens: int | None
    metrics: JobMetrics
    status: ModelStatus
    registered_at: datetime
    status_changed_at: datetime
    rollout_id: str | None = None
    undeploy_due_at: datetime | None = None
    undeploy_failures: int = 0
    undeployed_at: datetime | None = None

    def names(self) -> set[str]:
        """Every name a rollout decision may use for this model."""
        return {self.fine_tuned_model} | ({self.deployment_name} if self.deployment_name else set())

    def undeploy_failed(self, now: datetime, base_s: float, max_s: float,
                        retry_after_s: float | None) -> RegisteredModel:
        """The release failed in a way that may pass: try again after a backoff."""
        failures = self.undeploy_failures + 1
        delay = retry_delay(failures, base_s, max_s, retry_after_s)
        return dataclasses.replace(self, undeploy_failures=failures, undeploy_due_at=now + timedelta(seconds=delay))

    def undeploy_done(self, now: datetime, *, released: bool) -> RegisteredModel:
        """Nothing left to do: the deployment is gone, or (``released`` False) the provider keeps it."""
        return dataclasses.replace(self, undeploy_due_at=None, undeploy_failures=0,
                                   undeployed_at=now if released else None)


def registered_model(job: Job, at: datetime) -> RegisteredModel:
    """The registry entry of a job that has just succeeded: a candidate."""
    if job.fine_tuned_model is None:
        raise ValueError(f"job {job.job_id} succeeded without a fine-tuned model")
    return RegisteredModel(
        fine_tuned_model=job.fine_tuned_model, job_id=job.job_id, dataset_id=job.dataset_id,
        cycle_id=job.cycle_id, base_model=job.base_model, provider=job.provider,
        provider_job_id=job.provider_job_id, deployment_name=job.deployment_name,
        trained_tokens=job.trained_tokens, metrics=job.metrics, status=ModelStatus.CANDIDATE,
        registered_at=at, status_changed_at=at,
    )


@dataclass(frozen=True)
class StatusChange:
    """A model's new status; ``undeploy_at``, when its deployment is to be released."""

    fine_tuned_model: str
    status: ModelStatus
    rollout_id: str
    undeploy_at: datetime | None = None


_ONGOING = {RolloutDecision.ADVANCED, RolloutDecision.HELD, RolloutDecision.PAUSED,
            RolloutDecision.RESUMED, RolloutDecision.FORCE_ADVANCED}


def decision_changes(decision: RolloutDecided, models: Iterable[RegisteredModel],
                     undeploy_after: timedelta = timedelta(0)) -> list[StatusChange]:
    """Status changes a rollout decision makes to the models we know (others are ignored); a
    model it retires is released ``undeploy_after`` the decision (routers stop calling it first)."""
    return [dataclasses.replace(c, undeploy_at=decision.decided_at + undeploy_after)
            if c.status is ModelStatus.RETIRED else c for c in _changes(decision, list(models))]


def _changes(decision: RolloutDecided, known: list[RegisteredModel]) -> list[StatusChange]:
    candidate = next((m for m in known if decision.candidate_model in m.names()), None)
    kind = decision.decision
    if kind is RolloutDecision.COMPLETED:
        changes = [StatusChange(m.fine_tuned_model, ModelStatus.RETIRED, decision.rollout_id)
                   for m in known if m.status is ModelStatus.PRODUCTION and m is not candidate]
        if candidate is not None:
            changes.append(StatusChange(candidate.fine_tuned_model, ModelStatus.PRODUCTION, decision.rollout_id))
        return [c for c in changes if _differs(c, known)]
    if candidate is None:
        return []
    if kind in (RolloutDecision.ROLLED_BACK, RolloutDecision.ABORTED):
        target = ModelStatus.RETIRED
    elif kind is RolloutDecision.STARTED or (kind in _ONGOING and candidate.status is ModelStatus.CANDIDATE):
        target = ModelStatus.IN_ROLLOUT  # an ongoing decision also repairs a missed 'started'
    else:
        return []
    if candidate.status is ModelStatus.PRODUCTION or candidate.status is target:
        return []
    return [StatusChange(candidate.fine_tuned_model, target, decision.rollout_id)]


def _differs(change: StatusChange, known: list[RegisteredModel]) -> bool:
    return any(m.fine_tuned_model == change.fine_tuned_model and m.status is not change.status for m in known)

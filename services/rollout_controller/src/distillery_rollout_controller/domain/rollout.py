"""A rollout: one candidate moving through the stages, and the decisions it records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from distillery_contracts.common import GateResult, ModelMetrics
from distillery_contracts.rollout import RolloutDecided, RolloutDecision
from distillery_rollout_controller.domain.plan import CANDIDATE, PRODUCTION, TEACHER, StagePlan, Weights

CONTROLLER_ACTOR = "rollout-controller"


class RolloutStatus(StrEnum):
    QUEUED = "queued"
    """Passed offline evaluation while another rollout was running; starts after it."""
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"


LIVE = (RolloutStatus.ACTIVE, RolloutStatus.PAUSED)
FINISHED = (RolloutStatus.COMPLETED, RolloutStatus.ROLLED_BACK, RolloutStatus.ABORTED)


class RolloutStateError(ValueError):
    """An operation that the rollout's status does not allow (e.g. pausing a finished one)."""


@dataclass
class Rollout:
    """State of one rollout; the controller's tables hold exactly this."""

    rollout_id: str
    route: str
    candidate_model: str
    teacher_model: str
    previous_model: str | None
    created_at: datetime
    cycle_id: str | None = None
    eval_run_id: str | None = None
    candidate_provider: str | None = None
    """The provider the candidate was trained with; None: not known (the configured one)."""
    previous_provider: str | None = None
    """The provider serving the student it replaces, as the table in force said."""
    status: RolloutStatus = RolloutStatus.QUEUED
    stage_index: int = 0
    stage_started_at: datetime | None = None
    decisions_made: int = 0
    last_hold_code: str | None = None
    last_evaluated_at: datetime | None = None
    last_gates: list[GateResult] = field(default_factory=list)
    last_metrics: dict[str, ModelMetrics] = field(default_factory=dict)
    ended_at: datetime | None = None
    end_reason: str | None = None

    @property
    def is_live(self) -> bool:
        return self.status in LIVE

    def weights(self, plan: StagePlan) -> Weights:
        """Routing weights this rollout's state calls for."""
        if self.is_live:
            return plan.stage_weights(self.stage_index, has_production=self.previous_model is not None)
        if self.status is RolloutStatus.COMPLETED:
            return plan.steady_weights(has_production=True)
        return plan.steady_weights(has_production=self.previous_model is not None)

    def models(self) -> dict[str, str]:
        """Model behind each arm name this rollout's tables use."""
        if self.status is RolloutStatus.COMPLETED:
            return {PRODUCTION: self.candidate_model, TEACHER: self.teacher_model}
        models = {CANDIDATE: self.candidate_model, TEACHER: self.teacher_model}
        if self.previous_model is not None:
            models[PRODUCTION] = self.previous_model
        return models

    def providers(self) -> dict[str, str]:
        """Provider behind each student arm of :meth:`models`, where it is known."""
        if self.status is RolloutStatus.COMPLETED:
            known = {PRODUCTION: self.candidate_provider}
        else:
            known = {CANDIDATE: self.candidate_provider, PRODUCTION: self.previous_provider}
        return {arm: provider for arm, provider in known.items() if provider is not None}

    @property
    def production_model_after(self) -> str | None:
        """The student in production once this rollout ended as it has."""
        return self.candidate_model if self.status is RolloutStatus.COMPLETED else self.previous_model

    def begin(self, now: datetime) -> None:
        self._require(RolloutStatus.QUEUED, "start")
        self.status, self.stage_index, self.stage_started_at = RolloutStatus.ACTIVE, 0, now

    def advance(self, plan: StagePlan, now: datetime) -> None:
        self._require(LIVE, "advance")
        if self.stage_index >= plan.last_stage:
            raise RolloutStateError(f"rollout {self.rollout_id} is at its last stage; complete it instead")
        self.stage_index += 1
        self.stage_started_at, self.last_hold_code = now, None
        self.last_gates, self.last_metrics = [], {}

    def finish(self, status: RolloutStatus, reason: str, now: datetime) -> None:
        """End the rollout; a queued one can only be aborted (it never served a call)."""
        if status not in FINISHED:
            raise ValueError(f"{status} does not end a rollout")
        self._require(LIVE + (RolloutStatus.QUEUED,) if status is RolloutStatus.ABORTED else LIVE,
                      "end" if status is RolloutStatus.ABORTED else f"mark as {status.value}")
        self.status, self.ended_at, self.end_reason = status, now, reason

    def pause(self) -> None:
        self._require(RolloutStatus.ACTIVE, "pause")
        self.status = RolloutStatus.PAUSED

    def resume(self) -> None:
        self._require(RolloutStatus.PAUSED, "resume")
        self.status, self.last_hold_code = RolloutStatus.ACTIVE, None

    def record_evaluation(self, gates: list[GateResult], metrics: dict[str, ModelMetrics],
                          now: datetime) -> None:
        self.last_gates, self.last_metrics, self.last_evaluated_at = list(gates), dict(metrics), now

    def decide(self, decision: RolloutDecision, reason: str, plan: StagePlan, now: datetime, *,
               actor: str = CONTROLLER_ACTOR, gates: list[GateResult] | None = None,
               metrics: dict[str, ModelMetrics] | None = None,
               weights: Weights | None = None) -> RolloutDecided:
        """The decision event for the state the rollout is now in; numbered, so ids repeat
        exactly when the same transaction is replayed."""
        self.decisions_made += 1
        live_or_done = self.is_live or self.status is RolloutStatus.COMPLETED
        return RolloutDecided(
            decision_id=f"{self.rollout_id}:{self.decisions_made:04d}:{decision.value}",
            rollout_id=self.rollout_id, cycle_id=self.cycle_id,
            candidate_model=self.candidate_model, previous_model=self.previous_model,
            teacher_model=self.teacher_model, stage_index=self.stage_index,
            stage_percent=plan.percent(self.stage_index) if live_or_done else 0.0,
            decision=decision, reason=reason, actor=actor,
            weights=weights if weights is not None else self.weights(plan),
            arm_metrics=metrics if metrics is not None else self.last_metrics,
            gates=gates if gates is not None else self.last_gates, decided_at=now,
        )

    def _require(self, allowed: RolloutStatus | tuple[RolloutStatus, ...], action: str) -> None:
        allowed = allowed if isinstance(allowed, tuple) else (allowed,)
        if self.status not in allowed:
            raise RolloutStateError(f"cannot {action} rollout {self.rollout_id}: it is {self.status.value}")

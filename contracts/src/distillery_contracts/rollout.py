"""``distillery.rollout.decisions.v1``: every decision of a progressive rollout."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field, model_validator

from distillery_contracts.base import Event
from distillery_contracts.common import GateResult, ModelMetrics, Percent
from distillery_contracts.routing import check_weights_sum


class RolloutDecision(StrEnum):
    """What the rollout-controller (or an operator) decided."""

    STARTED = "started"
    ADVANCED = "advanced"
    HELD = "held"
    ROLLED_BACK = "rolled_back"
    COMPLETED = "completed"
    PAUSED = "paused"
    RESUMED = "resumed"
    ABORTED = "aborted"
    FORCE_ADVANCED = "force_advanced"


class RolloutDecided(Event):
    """One rollout decision with the weights it set and the evidence behind it."""

    event_type: ClassVar[str] = "RolloutDecided"
    schema_version: ClassVar[int] = 1

    decision_id: str = Field(min_length=1, description="Unique, deterministic id of the decision.")
    rollout_id: str = Field(min_length=1, description="The rollout.")
    cycle_id: str | None = Field(default=None, description="Distillation cycle.")
    candidate_model: str = Field(min_length=1, description="Student being rolled out.")
    previous_model: str | None = Field(
        default=None, description="Student it replaces; None when the teacher served alone."
    )
    teacher_model: str = Field(min_length=1, description="Teacher keeping its floor share.")
    stage_index: int = Field(ge=0, description="Stage after the decision (0 = first stage).")
    stage_percent: Percent = Field(description="Candidate share the stage targets, e.g. 25.")
    decision: RolloutDecision = Field(description="What was decided.")
    reason: str = Field(
        description="Why, in words, e.g. 'hallucination CI above baseline + margin'."
    )
    actor: str = Field(
        min_length=1, description="'rollout-controller' for automatic decisions, else who asked."
    )
    weights: dict[str, Percent] = Field(
        description="Weights per arm name after the decision, in percent; they add up to 100."
    )
    arm_metrics: dict[str, ModelMetrics] = Field(
        default_factory=dict, description="Metrics per arm over the stage's window."
    )
    gates: list[GateResult] = Field(default_factory=list, description="Gates evaluated for it.")
    decided_at: AwareDatetime = Field(description="When the decision was taken.")

    @model_validator(mode="after")
    def _weights_add_up(self) -> RolloutDecided:
        check_weights_sum(list(self.weights.values()), "weights after the decision")
        return self

    def event_id(self) -> str:
        return self.decision_id

    def partition_key(self) -> str:
        return self.rollout_id

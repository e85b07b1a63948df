"""Cost per call before and after a student, and the saving it makes in a month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from distillery_contracts.rollout import RolloutDecided

DAYS_PER_MONTH = 30.0


@dataclass(frozen=True)
class CostPoint:
    """Cost per call at one decision: the teacher's alone, and the traffic mix the weights made."""

    at: datetime
    teacher_usd: float
    blended_usd: float

    def monthly_saving(self, calls_per_day: float) -> float:
        return (self.teacher_usd - self.blended_usd) * calls_per_day * DAYS_PER_MONTH


def cost_point(decision: RolloutDecided) -> CostPoint | None:
    """The point of a decision, or None without the costs of the teacher and every weighted arm.

    Blended cost: each arm's cost per call by its share of traffic after the decision."""
    costs = {arm: m.cost_per_call_usd for arm, m in decision.arm_metrics.items()}
    teacher = costs.get("teacher")
    if teacher is None:
        return None
    blended = 0.0
    for arm, weight in decision.weights.items():
        cost = costs.get(arm)
        if weight > 0 and cost is None:
            return None
        blended += (weight / 100.0) * (cost or 0.0)
    return CostPoint(decision.decided_at, teacher, blended)

"""Stages of a rollout and the routing weights each one sets.

Arms keep one bucket order in every table: candidate, production, teacher. The
candidate takes its stage share out of the production arm when a student is in
production (otherwise out of the teacher), and the teacher never drops below its
floor. Arms with no share are left out; leaving out an empty arm moves no call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CANDIDATE = "candidate"
PRODUCTION = "production"
TEACHER = "teacher"
ARM_ORDER = (CANDIDATE, PRODUCTION, TEACHER)

Weights = dict[str, float]


@dataclass(frozen=True)
class StagePlan:
    """Candidate share per stage, in percent, and the teacher's floor."""

    percents: tuple[float, ...] = (10.0, 25.0, 50.0, 75.0, 90.0)
    teacher_floor: float = 10.0

    def __post_init__(self) -> None:
        if not self.percents:
            raise ValueError("a rollout needs at least one stage")
        if not 0 <= self.teacher_floor < 100:
            raise ValueError(f"teacher floor must be within 0..100, got {self.teacher_floor:g}")
        if any(b <= a for a, b in zip(self.percents, self.percents[1:], strict=False)):
            raise ValueError(f"stage percents must increase, got {list(self.percents)}")
        if self.percents[0] <= 0:
            raise ValueError(f"the first stage must send some traffic, got {self.percents[0]:g}%")
        student_share = 100 - self.teacher_floor
        if abs(self.percents[-1] - student_share) > 1e-9:
            raise ValueError(
                f"the last stage must be {student_share:g}% (100 minus the teacher's "
                f"{self.teacher_floor:g}% floor), got {self.percents[-1]:g}%"
            )

    @classmethod
    def of(cls, percents: Sequence[float], teacher_floor: float) -> StagePlan:
        return cls(tuple(float(p) for p in percents), float(teacher_floor))

    @property
    def last_stage(self) -> int:
        return len(self.percents) - 1

    @property
    def student_share(self) -> float:
        return 100.0 - self.teacher_floor

    def percent(self, stage_index: int) -> float:
        if not 0 <= stage_index <= self.last_stage:
            raise ValueError(f"stage {stage_index} is outside 0..{self.last_stage}")
        return self.percents[stage_index]

    def stage_of(self, candidate_percent: float) -> int | None:
        """The stage whose share is ``candidate_percent``, or None."""
        for index, percent in enumerate(self.percents):
            if abs(percent - candidate_percent) < 1e-6:
                return index
        return None

    def stage_weights(self, stage_index: int, *, has_production: bool) -> Weights:
        """Weights while the candidate is at ``stage_index``."""
        share = self.percent(stage_index)
        if has_production:
            return _without_empty({CANDIDATE: share, PRODUCTION: self.student_share - share,
                                   TEACHER: self.teacher_floor})
        return _without_empty({CANDIDATE: share, TEACHER: 100.0 - share})

    def steady_weights(self, *, has_production: bool) -> Weights:
        """Weights outside a rollout: the production student at full share, or all teacher."""
        if has_production:
            return _without_empty({PRODUCTION: self.student_share, TEACHER: self.teacher_floor})
        return {TEACHER: 100.0}


def _without_empty(weights: Weights) -> Weights:
    return {arm: weight for arm, weight in weights.items() if weight > 0}

"""Where a distillation cycle stands, from whichever of its events is the latest.

Events of one cycle arrive on several topics, in no order the console can rely on (a
replay reads the topics side by side). The phase is therefore a function of the latest
event by its own time, never of arrival order, so a rebuilt read model equals the live one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.evaluations import EvalOutcome, EvaluationCompleted
from distillery_contracts.finetune import FinetuneJobChanged, JobStatus
from distillery_contracts.rollout import RolloutDecided, RolloutDecision

STOPPED = "stopped"
COMPLETED = "completed"
ROLLED_BACK = "rolled back"
ENDED = (STOPPED, COMPLETED, ROLLED_BACK)


@dataclass(frozen=True)
class CycleStep:
    """One event's say on its cycle: the phase it puts the cycle in, at the event's time."""

    cycle_id: str
    at: datetime
    phase: str
    candidate_model: str | None = None

    def supersedes(self, updated_at: datetime) -> bool:
        """Whether this step is at least as recent as what the cycle shows (ties: the later arrival)."""
        return self.at >= updated_at


def dataset_step(event: DatasetBuilt) -> CycleStep | None:
    if event.cycle_id is None:
        return None
    return CycleStep(event.cycle_id, event.built_at, "dataset built")


def job_step(event: FinetuneJobChanged) -> CycleStep | None:
    if event.cycle_id is None:
        return None
    if event.status in (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.REFUSED):
        return CycleStep(event.cycle_id, event.occurred_at, STOPPED)
    phase = "fine-tuned" if event.status is JobStatus.SUCCEEDED else f"fine-tuning ({event.status.value})"
    return CycleStep(event.cycle_id, event.occurred_at, phase, event.fine_tuned_model)


def evaluation_step(event: EvaluationCompleted) -> CycleStep | None:
    if event.cycle_id is None:
        return None
    phase = "evaluated" if event.outcome is EvalOutcome.PASSED else STOPPED
    return CycleStep(event.cycle_id, event.completed_at, phase, event.candidate_model)


_DECISION_PHASES = {
    RolloutDecision.COMPLETED: COMPLETED,
    RolloutDecision.ROLLED_BACK: ROLLED_BACK,
    RolloutDecision.ABORTED: STOPPED,
    RolloutDecision.PAUSED: "rollout paused",
}


def decision_step(event: RolloutDecided) -> CycleStep | None:
    if event.cycle_id is None:
        return None
    phase = _DECISION_PHASES.get(event.decision, f"rollout stage {event.stage_index + 1} ({event.stage_percent:g}%)")
    return CycleStep(event.cycle_id, event.decided_at, phase, event.candidate_model)


def rollout_state(last: RolloutDecision) -> str:
    """What an operator can still do with a rollout whose latest decision is ``last``."""
    if last in (RolloutDecision.COMPLETED, RolloutDecision.ROLLED_BACK, RolloutDecision.ABORTED):
        return "ended"
    return "paused" if last is RolloutDecision.PAUSED else "active"

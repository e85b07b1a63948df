"""What a stage's evidence means: advance, hold, roll back or complete."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from distillery_contracts.common import GateResult, ModelMetrics
from distillery_rollout_controller.domain.gates import GateCheck, GatePolicy, Verdict, check_gates
from distillery_rollout_controller.domain.plan import CANDIDATE, PRODUCTION, TEACHER, Weights
from distillery_rollout_controller.domain.window import ArmSample


class Action(StrEnum):
    ADVANCE = "advance"
    HOLD = "hold"
    ROLL_BACK = "roll_back"
    COMPLETE = "complete"


class HoldCode(StrEnum):
    """Why a stage holds; a new HELD decision is recorded only when this changes."""

    SAMPLE = "insufficient_sample"
    INCONCLUSIVE = "inconclusive"
    DURATION = "minimum_duration"
    PAUSED = "paused"


@dataclass(frozen=True)
class StageVerdict:
    """The outcome of one evaluation with the evidence behind it."""

    action: Action
    reason: str
    hold_code: HoldCode | None = None
    gates: list[GateResult] = field(default_factory=list)
    metrics: dict[str, ModelMetrics] = field(default_factory=dict)


def baseline_arm(weights: Weights) -> str:
    """The arm the candidate must not be worse than: production while it serves, else teacher."""
    return PRODUCTION if weights.get(PRODUCTION, 0) > 0 else TEACHER


def judge_stage(samples: dict[str, ArmSample], weights: Weights, *, is_last_stage: bool,
                seconds_in_stage: float, policy: GatePolicy) -> StageVerdict:
    """Decide on the current stage from its window's samples."""
    baseline = baseline_arm(weights)
    candidate_sample = samples.get(CANDIDATE) or ArmSample(CANDIDATE)
    baseline_sample = samples.get(baseline) or ArmSample(baseline)
    metrics = {arm: (samples.get(arm) or ArmSample(arm)).metrics(policy.confidence) for arm in weights}
    short = [s for s in (candidate_sample, baseline_sample) if s.scored < policy.min_scored_calls]
    if short:
        counts = ", ".join(f"{s.arm} {s.scored}/{policy.min_scored_calls}" for s in short)
        return StageVerdict(Action.HOLD, f"waiting for scored calls: {counts}", HoldCode.SAMPLE,
                            metrics=metrics)
    checks = check_gates(candidate_sample, baseline_sample, policy)
    gates = [c.result for c in checks]
    failed = _named(checks, Verdict.FAIL)
    if failed:
        first = next(c.result for c in checks if c.verdict is Verdict.FAIL)
        return StageVerdict(Action.ROLL_BACK, f"gate {', '.join(failed)} failed: {first.detail}",
                            gates=gates, metrics=metrics)
    undecided = _named(checks, Verdict.UNDECIDED)
    if undecided:
        return StageVerdict(Action.HOLD, f"gates not yet conclusive: {', '.join(undecided)}",
                            HoldCode.INCONCLUSIVE, gates, metrics)
    if seconds_in_stage < policy.min_stage_seconds:
        return StageVerdict(Action.HOLD, f"gates pass; {seconds_in_stage:,.0f} s of the "
                            f"{policy.min_stage_seconds:,.0f} s minimum in stage", HoldCode.DURATION,
                            gates, metrics)
    if is_last_stage:
        return StageVerdict(Action.COMPLETE, f"all gates pass against {baseline} at the last stage",
                            gates=gates, metrics=metrics)
    return StageVerdict(Action.ADVANCE, f"all gates pass against {baseline}", gates=gates,
                        metrics=metrics)


def _named(checks: list[GateCheck], verdict: Verdict) -> list[str]:
    return [c.result.name for c in checks if c.verdict is verdict]

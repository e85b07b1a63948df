"""Release gates: the candidate against the teacher, a latency bound, and every baseline.

A gate whose scorer did not run is not silently passed: it is left out and named in
``skipped`` (the report says so); a gate whose scorer ran but produced no numbers fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from distillery_contracts.common import Comparator, GateResult
from distillery_contracts.evaluations import EvalOutcome
from distillery_evaluator.domain import stats
from distillery_evaluator.domain.metrics import RoleStats
from distillery_evaluator.domain.results import (
    CANDIDATE,
    EMBEDDING,
    JUDGE,
    TEACHER,
    is_comparison_role,
)


class GateConfig(BaseModel):
    """Thresholds of the offline gates (environment: DISTILLERY_EVALUATOR_GATES__<NAME>)."""

    hallucination_margin: float = Field(
        default=0.02, ge=0, le=1,
        description="Candidate hallucination rate may exceed the teacher's by at most this.")
    confidence: float = Field(
        default=0.95, gt=0.5, lt=1, description="Confidence of intervals and the judge test.")
    judge_margin: float = Field(
        default=0.10, ge=0, le=2,
        description="Non-inferiority margin on the judge preference (-1..1) vs the teacher.")
    similarity_floor: float = Field(
        default=0.80, ge=-1, le=1, description="Minimum mean similarity to the teacher.")
    latency_p95_max_ms: float = Field(default=5000.0, gt=0, description="Bound on p95 latency.")
    max_error_rate: float = Field(
        default=0.02, ge=0, le=1, description="Most calls the candidate may fail.")
    baseline_margin: float = Field(
        default=0.0, ge=0, le=1,
        description="How much higher than the production student's (or a baseline's) the "
        "candidate's hallucination rate may be.")
    baseline_quality_margin: float = Field(
        default=0.02, ge=0, le=1,
        description="How much lower than the production student's (or a baseline's) the "
        "candidate's judge preference or similarity may be: the run-to-run noise of two "
        "equally good models, so a tie at the ceiling does not stop a cycle.")


@dataclass
class GateReport:
    """The gates evaluated, those that could not be, and the verdict."""

    gates: list[GateResult]
    skipped: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> EvalOutcome:
        return EvalOutcome.PASSED if self.gates and all(g.passed for g in self.gates) else EvalOutcome.FAILED


def _gate(name: str, metric: str, model: str, value: float | None, threshold: float,
          comparator: Comparator, n: int, detail: str,
          ci: tuple[float | None, float | None] = (None, None)) -> GateResult:
    passed = value is not None and comparator.holds(value, threshold)
    return GateResult(name=name, metric=metric, model=model, value=value, threshold=threshold,
                      comparator=comparator, passed=passed, ci_low=ci[0], ci_high=ci[1], n=n,
                      detail=detail)


def evaluate_gates(roles: Mapping[str, RoleStats], scorers_ran: set[str],
                   config: GateConfig) -> GateReport:
    """Every configured gate for the candidate in ``roles``."""
    candidate, teacher = roles[CANDIDATE], roles[TEACHER]
    report = GateReport(gates=[_hallucination_gate(candidate, teacher, config)])
    if JUDGE in scorers_ran:
        report.gates.append(_judge_gate(candidate, config))
    else:
        report.skipped.append("judge_non_inferiority: no judge endpoint configured")
    if EMBEDDING in scorers_ran:
        report.gates.append(_gate(
            "similarity", "similarity_mean", candidate.model, candidate.metrics.similarity_mean,
            config.similarity_floor, Comparator.GE, len(candidate.similarities),
            f"mean cosine similarity to the teacher's answers, floor {config.similarity_floor:g}"))
    else:
        report.skipped.append("similarity: embedding scorer disabled")
    m = candidate.metrics
    report.gates.append(_gate("latency_p95", "latency_p95_ms", candidate.model, m.latency_p95_ms,
                              config.latency_p95_max_ms, Comparator.LE, m.n,
                              f"p50 {_fmt(m.latency_p50_ms)} ms, bound {config.latency_p95_max_ms:g} ms"))
    report.gates.append(_gate("error_rate", "error_rate", candidate.model, m.error_rate,
                              config.max_error_rate, Comparator.LE, m.n,
                              "share of prompts the candidate failed to answer after retries"))
    for role, baseline in roles.items():
        if is_comparison_role(role):
            report.gates.extend(_baseline_gates(candidate, baseline, scorers_ran, config))
    return report


def _hallucination_gate(candidate: RoleStats, teacher: RoleStats, config: GateConfig) -> GateResult:
    h, base = candidate.hallucination, teacher.hallucination
    threshold = min(1.0, (base.rate or 0.0) + config.hallucination_margin)
    return _gate(
        "hallucination", "hallucination_rate", candidate.model, h.rate, threshold, Comparator.LE,
        h.n, f"{h.k}/{h.n} answers flagged; teacher {_fmt(base.rate)} ({base.k}/{base.n}) "
        f"+ margin {config.hallucination_margin:g}; {config.confidence:.0%} Wilson CI",
        (h.low, h.high))


def _judge_gate(candidate: RoleStats, config: GateConfig) -> GateResult:
    bound = stats.lower_bound(candidate.preferences, config.confidence)
    m = candidate.metrics
    return _gate(
        "judge_non_inferiority", "judge_preference_lower_bound", candidate.model, bound.lower,
        -config.judge_margin, Comparator.GE, bound.n,
        f"win {_fmt(m.win_rate)} / tie {_fmt(m.tie_rate)} / loss {_fmt(m.loss_rate)} vs the "
        f"teacher, both orders; mean preference {_fmt(bound.mean)}, one-sided "
        f"{config.confidence:.0%} lower bound must be >= -{config.judge_margin:g}",
        (bound.lower, None))


def _baseline_gates(candidate: RoleStats, baseline: RoleStats, scorers_ran: set[str],
                    config: GateConfig) -> list[GateResult]:
    label = baseline.role.split(":", 1)[-1] if ":" in baseline.role else baseline.role
    margin, quality_margin = config.baseline_margin, config.baseline_quality_margin
    h = candidate.hallucination
    base_rate = baseline.hallucination.rate
    gates = [_gate(
        f"vs_{label}_hallucination", "hallucination_rate", candidate.model, h.rate,
        min(1.0, (base_rate if base_rate is not None else 0.0) + margin), Comparator.LE, h.n,
        f"{baseline.model}: {_fmt(base_rate)} ({baseline.hallucination.k}/{baseline.hallucination.n})"
        f" + margin {margin:g}; the candidate must beat or match it", (h.low, h.high))]
    if JUDGE in scorers_ran:
        cand, base = stats.mean(candidate.preferences), stats.mean(baseline.preferences)
        gates.append(_gate(
            f"vs_{label}_quality", "judge_preference_mean", candidate.model, cand,
            (base if base is not None else 1.0) - quality_margin, Comparator.GE, len(candidate.preferences),
            f"judge preference vs the teacher: {baseline.model} {_fmt(base)}, margin {quality_margin:g}"))
    elif EMBEDDING in scorers_ran:
        base = baseline.metrics.similarity_mean
        gates.append(_gate(
            f"vs_{label}_quality", "similarity_mean", candidate.model,
            candidate.metrics.similarity_mean, (base if base is not None else 1.0) - quality_margin,
            Comparator.GE, len(candidate.similarities),
            f"similarity to the teacher: {baseline.model} {_fmt(base)}, margin {quality_margin:g}"))
    return gates


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"

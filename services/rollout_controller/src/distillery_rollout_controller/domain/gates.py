"""The gates a stage must pass, each a three-way statistical verdict.

Every gate compares the candidate with a baseline arm (the production student while it
still serves traffic, else the teacher) and reads a confidence interval, not a point:

- PASS when the whole interval is on the good side of the threshold ("not worse"),
- FAIL when the whole interval is on the bad side ("worse", roll back),
- UNDECIDED otherwise: the sample cannot tell yet, so the stage holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from distillery_contracts.common import Comparator, GateResult
from distillery_rollout_controller.domain.window import ArmSample
from distillery_runtime.stats import Interval, newcombe_difference, quantile_interval, wilson


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class GatePolicy:
    """Thresholds and sample sizes; see RolloutSettings for what each means."""

    confidence: float = 0.95
    min_scored_calls: int = 200
    min_stage_seconds: float = 3600.0
    hallucination_margin: float = 0.02
    error_margin: float = 0.01
    max_judge_loss_rate: float = 0.40
    require_judge: bool = True
    latency_p50_margin: float = 0.25
    latency_p95_margin: float = 0.25
    max_latency_p95_ms: float | None = None


@dataclass(frozen=True)
class GateCheck:
    """One gate's verdict and the numbers recorded with the decision."""

    verdict: Verdict
    result: GateResult


def check_gates(candidate: ArmSample, baseline: ArmSample, policy: GatePolicy) -> list[GateCheck]:
    """Every gate of one stage for the candidate against the baseline arm."""
    checks = [
        _rate_difference("hallucination", "hallucination_rate", candidate, baseline,
                         lambda s: (s.hallucinated, s.hallucination_checked),
                         policy.hallucination_margin, policy),
        _rate_difference("errors", "error_rate", candidate, baseline,
                         lambda s: (s.errors, s.error_known), policy.error_margin, policy),
        _latency("latency_p50", 0.50, candidate, baseline, policy.latency_p50_margin, None, policy),
        _latency("latency_p95", 0.95, candidate, baseline, policy.latency_p95_margin,
                 policy.max_latency_p95_ms, policy),
    ]
    if candidate.judged or policy.require_judge:
        checks.insert(1, _judge(candidate, policy))
    return checks


def _rate_difference(name: str, metric: str, candidate: ArmSample, baseline: ArmSample,
                     counts: Callable[[ArmSample], tuple[int, int]], margin: float,
                     policy: GatePolicy) -> GateCheck:
    (k1, n1), (k2, n2) = counts(candidate), counts(baseline)
    if not n1 or not n2:
        return _no_data(name, f"{metric}_difference", candidate, margin, Comparator.LE, min(n1, n2),
                        f"no {metric.replace('_', ' ')} data yet for "
                        f"{candidate.arm if not n1 else baseline.arm}")
    diff = newcombe_difference(k1, n1, k2, n2, policy.confidence)
    verdict = _lower_is_better(diff, margin)
    detail = (f"{candidate.arm} {k1 / n1:.1%} (n={n1}) vs {baseline.arm} {k2 / n2:.1%} (n={n2}); "
              f"difference {diff.estimate * 100:+.1f} pts, {policy.confidence:.0%} CI "
              f"[{_pts(diff.low)}, {_pts(diff.high)}] pts; margin {margin * 100:g} pts"
              f"{_verdict_note(verdict)}")
    return _result(name, f"{metric}_difference", candidate, diff, margin, Comparator.LE,
                   min(n1, n2), verdict, detail)


def _judge(candidate: ArmSample, policy: GatePolicy) -> GateCheck:
    limit = policy.max_judge_loss_rate
    if not candidate.judged:
        return _no_data("judge_quality", "judge_loss_rate", candidate, limit, Comparator.LE, 0,
                        "no judge verdicts against the teacher yet")
    loss = wilson(candidate.losses, candidate.judged, policy.confidence)
    verdict = _lower_is_better(loss, limit)
    detail = (f"lost {candidate.losses} of {candidate.judged} judgements against the teacher "
              f"({loss.estimate:.1%}, {policy.confidence:.0%} CI [{loss.low:.1%}, {loss.high:.1%}]); "
              f"limit {limit:.0%}{_verdict_note(verdict)}")
    return _result("judge_quality", "judge_loss_rate", candidate, loss, limit, Comparator.LE,
                   candidate.judged, verdict, detail)


def _latency(name: str, q: float, candidate: ArmSample, baseline: ArmSample, margin: float,
             ceiling: float | None, policy: GatePolicy) -> GateCheck:
    metric = f"latency_p{round(q * 100)}_ms"
    n = min(len(candidate.latencies), len(baseline.latencies))
    if not candidate.latencies or not baseline.latencies:
        return _no_data(name, metric, candidate, ceiling or 0.0, Comparator.LE, n,
                        f"no latencies yet for {candidate.arm if not candidate.latencies else baseline.arm}")
    own = quantile_interval(candidate.latencies, q, policy.confidence)
    reference = quantile_interval(baseline.latencies, q, policy.confidence).estimate
    threshold = reference * (1 + margin)
    bound = f"{baseline.arm} {reference:,.0f} ms × {1 + margin:g}"
    if ceiling is not None and ceiling < threshold:
        threshold, bound = ceiling, f"ceiling {ceiling:,.0f} ms"
    verdict = _lower_is_better(own, threshold)
    detail = (f"{candidate.arm} {own.estimate:,.0f} ms (n={len(candidate.latencies)}), "
              f"{policy.confidence:.0%} CI [{_ms(own.low)}, {_ms(own.high)}]; bound {threshold:,.0f} ms "
              f"({bound}){_verdict_note(verdict)}")
    return _result(name, metric, candidate, own, threshold, Comparator.LE, n, verdict, detail)


def _lower_is_better(interval: Interval, threshold: float) -> Verdict:
    if interval.high is not None and interval.high <= threshold:
        return Verdict.PASS
    if interval.low is not None and interval.low > threshold:
        return Verdict.FAIL
    return Verdict.UNDECIDED


def _result(name: str, metric: str, arm: ArmSample, interval: Interval, threshold: float,
            comparator: Comparator, n: int, verdict: Verdict, detail: str) -> GateCheck:
    return GateCheck(verdict, GateResult(
        name=name, metric=metric, model=arm.model or arm.arm, value=interval.estimate,
        threshold=threshold, comparator=comparator, passed=verdict is Verdict.PASS,
        ci_low=interval.low, ci_high=interval.high, n=n, detail=detail,
    ))


def _no_data(name: str, metric: str, arm: ArmSample, threshold: float, comparator: Comparator,
             n: int, detail: str) -> GateCheck:
    return GateCheck(Verdict.UNDECIDED, GateResult(
        name=name, metric=metric, model=arm.model or arm.arm, value=None, threshold=threshold,
        comparator=comparator, passed=False, n=n, detail=detail,
    ))


def _verdict_note(verdict: Verdict) -> str:
    return {Verdict.PASS: "", Verdict.FAIL: " — worse beyond the bound",
            Verdict.UNDECIDED: " — not yet conclusive"}[verdict]


def _pts(value: float | None) -> str:
    return "?" if value is None else f"{value * 100:+.1f}"


def _ms(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f}"

"""What a rollout decision records and says: each gate's metric, model, interval and wording,
and each stage verdict's reason, evidence and hold code.

A person reading a HELD or ROLLED_BACK decision learns from these fields alone which gate
stopped the student and by how much, so a mutated field or reason must fail a test.
"""

from __future__ import annotations

from dataclasses import replace

from distillery_contracts.common import Comparator
from distillery_rollout_controller.domain.decide import Action, HoldCode, baseline_arm, judge_stage
from distillery_rollout_controller.domain.gates import GatePolicy, Verdict, check_gates
from distillery_rollout_controller.domain.window import ArmSample
from distillery_runtime.stats import newcombe_difference, wilson

POLICY = GatePolicy(min_scored_calls=100, min_stage_seconds=600, hallucination_margin=0.05,
                    error_margin=0.05, require_judge=False)
HUNDREDS = [100.0] * 100
ONE_TO_A_HUNDRED = [float(ms) for ms in range(1, 101)]


def sample(name: str = "candidate", model: str | None = None, *, checked: int = 0, hallucinated: int = 0,
           known: int = 0, errors: int = 0, wins: int = 0, ties: int = 0, losses: int = 0,
           latencies: list[float] | None = None) -> ArmSample:
    most = max(checked, known, wins + ties + losses, len(latencies or ()))
    return ArmSample(name, model=model, calls=most, scored=most, hallucination_checked=checked,
                     hallucinated=hallucinated, errors=errors, error_known=known, wins=wins, ties=ties,
                     losses=losses, latencies=sorted(latencies or ()))


def checks_by_name(candidate: ArmSample, baseline: ArmSample, policy: GatePolicy = POLICY) -> dict:
    return {c.result.name: c for c in check_gates(candidate, baseline, policy)}


def test_a_rate_gate_records_both_rates_the_difference_its_interval_and_the_margin() -> None:
    candidate = sample(model="ft:new", checked=100, hallucinated=3, known=200, errors=2)
    baseline = sample("teacher", "gpt-t", checked=100, hallucinated=1, known=100)
    checks = checks_by_name(candidate, baseline)
    diff = newcombe_difference(3, 100, 1, 100, 0.95)

    hal = checks["hallucination"].result
    assert (hal.metric, hal.model, hal.value, hal.threshold, hal.comparator, hal.passed, hal.n) == (
        "hallucination_rate_difference", "ft:new", diff.estimate, 0.05, Comparator.LE, False, 100)
    assert (hal.ci_low, hal.ci_high) == (diff.low, diff.high)
    assert hal.detail == ("candidate 3.0% (n=100) vs teacher 1.0% (n=100); difference +2.0 pts, "
                          "95% CI [-2.9, +7.5] pts; margin 5 pts — not yet conclusive")
    errors = checks["errors"].result
    assert (errors.metric, errors.n) == ("error_rate_difference", 100)
    assert errors.detail.startswith("candidate 1.0% (n=200) vs teacher 0.0% (n=100); difference +1.0 pts")


def test_a_passing_gate_says_nothing_more_and_a_failing_one_says_it_is_worse() -> None:
    good = checks_by_name(sample(checked=200), sample("teacher", checked=200))["hallucination"]
    bad = checks_by_name(sample(checked=200, hallucinated=100), sample("teacher", checked=200))["hallucination"]
    assert good.verdict is Verdict.PASS and good.result.detail.endswith("margin 5 pts")
    assert bad.verdict is Verdict.FAIL and bad.result.detail.endswith("margin 5 pts — worse beyond the bound")
    assert "; difference +50.0 pts, 95% CI" in bad.result.detail


def test_an_arm_without_a_model_name_is_recorded_by_its_arm() -> None:
    checks = checks_by_name(sample(checked=10), sample("teacher", checked=10))
    assert checks["hallucination"].result.model == "candidate"
    no_data = checks_by_name(sample("candidate", "ft:new"), sample("teacher", checked=10))["hallucination"]
    assert no_data.result.model == "ft:new"


def test_a_gate_without_data_is_undecided_never_passed_and_says_which_arm_lacks_it() -> None:
    checks = checks_by_name(sample(checked=10), sample("teacher"), replace(POLICY, require_judge=True))
    hal = checks["hallucination"]
    assert hal.verdict is Verdict.UNDECIDED
    assert (hal.result.metric, hal.result.value, hal.result.threshold, hal.result.passed, hal.result.n) == (
        "hallucination_rate_difference", None, 0.05, False, 0)
    assert hal.result.detail == "no hallucination rate data yet for teacher"
    judge = checks["judge_quality"].result
    assert (judge.metric, judge.value, judge.threshold, judge.comparator, judge.passed, judge.n) == (
        "judge_loss_rate", None, 0.4, Comparator.LE, False, 0)
    assert judge.detail == "no judge verdicts against the teacher yet"
    p50, p95 = checks["latency_p50"].result, checks["latency_p95"].result
    assert (p50.metric, p50.threshold, p50.detail) == ("latency_p50_ms", 0.0, "no latencies yet for candidate")
    assert (p95.metric, p95.threshold) == ("latency_p95_ms", 0.0)


def test_the_judge_gate_records_losses_their_interval_and_the_limit() -> None:
    candidate = sample(wins=40, ties=30, losses=30)
    check = checks_by_name(candidate, sample("teacher"))["judge_quality"]
    loss = wilson(30, 100, 0.95)
    r = check.result
    assert (r.metric, r.value, r.threshold, r.ci_low, r.ci_high, r.n) == (
        "judge_loss_rate", 0.3, 0.4, loss.low, loss.high, 100)
    assert r.detail == (f"lost 30 of 100 judgements against the teacher (30.0%, 95% CI "
                        f"[{loss.low:.1%}, {loss.high:.1%}]); limit 40%")
    assert check.verdict is Verdict.PASS and loss.high < 0.4


def test_the_judge_gate_comes_right_after_hallucination() -> None:
    names = list(checks_by_name(sample(wins=1), sample("teacher")))
    assert names == ["hallucination", "judge_quality", "errors", "latency_p50", "latency_p95"]


def test_a_latency_gate_records_its_quantile_interval_and_the_baseline_bound() -> None:
    checks = checks_by_name(sample(model="ft:new", latencies=ONE_TO_A_HUNDRED), sample("teacher", latencies=HUNDREDS))
    p95 = checks["latency_p95"].result
    assert (p95.metric, p95.model, p95.threshold, p95.ci_low, p95.ci_high, p95.n) == (
        "latency_p95_ms", "ft:new", 125.0, 90, 100, 100)
    assert p95.detail == "candidate 95 ms (n=100), 95% CI [90, 100]; bound 125 ms (teacher 100 ms × 1.25)"
    p50 = checks["latency_p50"].result
    assert p50.metric == "latency_p50_ms"
    assert p50.detail == "candidate 50 ms (n=100), 95% CI [40, 61]; bound 125 ms (teacher 100 ms × 1.25)"


def test_an_interval_without_an_upper_end_is_shown_as_unknown() -> None:
    check = checks_by_name(sample(latencies=ONE_TO_A_HUNDRED[:20]), sample("teacher", latencies=HUNDREDS))
    assert "CI [" in check["latency_p95"].result.detail and ", ?]; bound" in check["latency_p95"].result.detail


def test_a_ceiling_equal_to_the_baselines_bound_keeps_the_baseline_as_the_bound() -> None:
    checks = checks_by_name(sample(latencies=ONE_TO_A_HUNDRED), sample("teacher", latencies=HUNDREDS),
                            replace(POLICY, max_latency_p95_ms=125.0))
    assert checks["latency_p95"].result.detail.endswith("bound 125 ms (teacher 100 ms × 1.25)")
    checks = checks_by_name(sample(latencies=ONE_TO_A_HUNDRED), sample("teacher", latencies=HUNDREDS),
                            replace(POLICY, max_latency_p95_ms=124.0))
    assert checks["latency_p95"].result.detail.endswith("bound 124 ms (ceiling 124 ms)")


def test_production_is_the_baseline_from_its_first_percent_of_traffic() -> None:
    assert baseline_arm({"candidate": 99, "production": 1, "teacher": 0}) == "production"
    assert baseline_arm({"candidate": 100, "production": 0, "teacher": 0}) == "teacher"
    assert baseline_arm({"candidate": 50, "teacher": 50}) == "teacher"


def stage(samples: dict[str, ArmSample], seconds: float = 3600, last: bool = False):
    return judge_stage(samples, {"candidate": 10, "teacher": 90}, is_last_stage=last,
                       seconds_in_stage=seconds, policy=POLICY)


def healthy(name: str = "candidate") -> ArmSample:
    return sample(name, checked=200, known=200, latencies=HUNDREDS * 2)


def test_a_stage_without_any_calls_waits_for_both_arms_by_name() -> None:
    verdict = stage({})
    assert verdict.reason == "waiting for scored calls: candidate 0/100, teacher 0/100"
    assert (verdict.action, verdict.hold_code, verdict.gates) == (Action.HOLD, HoldCode.SAMPLE, [])
    assert set(verdict.metrics) == {"candidate", "teacher"}


def test_every_verdict_carries_each_arms_metrics_and_the_gates() -> None:
    samples = {"candidate": healthy(), "teacher": healthy("teacher")}
    for verdict in (stage({"candidate": sample(checked=5), "teacher": healthy("teacher")}),
                    stage(samples, seconds=10), stage(samples), stage(samples, last=True)):
        assert verdict.metrics == {arm: samples_of(arm, verdict, samples) for arm in ("candidate", "teacher")}
    advance = stage(samples)
    assert [g.name for g in advance.gates] == ["hallucination", "errors", "latency_p50", "latency_p95"]
    assert (advance.action, advance.reason, advance.hold_code) == (
        Action.ADVANCE, "all gates pass against teacher", None)
    complete = stage(samples, last=True)
    assert (complete.action, complete.reason) == (Action.COMPLETE, "all gates pass against teacher at the last stage")
    assert len(complete.gates) == 4
    young = stage(samples, seconds=10)
    assert (young.action, young.hold_code, young.reason) == (
        Action.HOLD, HoldCode.DURATION, "gates pass; 10 s of the 600 s minimum in stage")
    assert len(young.gates) == 4


def samples_of(arm: str, verdict, samples: dict[str, ArmSample]):
    if verdict.hold_code is HoldCode.SAMPLE and arm == "candidate":
        return sample(checked=5).metrics(POLICY.confidence)
    return samples[arm].metrics(POLICY.confidence)


def test_an_inconclusive_stage_names_every_undecided_gate_and_keeps_the_evidence() -> None:
    candidate = sample(checked=200, hallucinated=8, known=200, errors=8, latencies=HUNDREDS * 2)
    teacher = sample("teacher", checked=200, hallucinated=1, known=200, errors=1, latencies=HUNDREDS * 2)
    verdict = stage({"candidate": candidate, "teacher": teacher})
    assert (verdict.action, verdict.hold_code) == (Action.HOLD, HoldCode.INCONCLUSIVE)
    assert verdict.reason == "gates not yet conclusive: hallucination, errors"
    assert [g.name for g in verdict.gates] == ["hallucination", "errors", "latency_p50", "latency_p95"]
    assert verdict.metrics["candidate"] == candidate.metrics(POLICY.confidence)


def test_a_roll_back_names_every_failed_gate_and_quotes_the_first_failure() -> None:
    candidate = sample(checked=200, known=200, errors=100, latencies=[1000.0] * 200)
    verdict = stage({"candidate": candidate, "teacher": healthy("teacher")})
    errors = next(g for g in verdict.gates if g.name == "errors")
    assert verdict.action is Action.ROLL_BACK and verdict.hold_code is None
    assert verdict.reason == f"gate errors, latency_p50, latency_p95 failed: {errors.detail}"
    assert len(verdict.gates) == 4 and verdict.metrics["candidate"] == candidate.metrics(POLICY.confidence)

"""The gates that decide whether a student gets more traffic, at their edges.

Each test pins one comparison, bound or count of ``domain/gates.py`` (and the sample
minimums of ``domain/decide.py``): a candidate must advance only on evidence, so changing
any of them (a ``<=`` for a ``<``, the interval's low end for its high end, a margin's sign,
the confidence asked for) must fail a test here. Latencies are whole milliseconds, so the
interval bounds they give are exact values the tests can put a bound on.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from distillery_rollout_controller.domain.decide import Action, HoldCode, judge_stage
from distillery_rollout_controller.domain.gates import GateCheck, GatePolicy, Verdict, check_gates
from distillery_rollout_controller.domain.window import ArmSample
from distillery_runtime.stats import newcombe_difference, wilson

POLICY = GatePolicy(min_scored_calls=100, min_stage_seconds=600, hallucination_margin=0.05,
                    error_margin=0.05, require_judge=False)
ONE_TO_A_HUNDRED = [float(ms) for ms in range(1, 101)]
"""At 95% their p95's interval is [90, 100] and their median's [40, 61]; at 80%, [92, 99]."""
SLOW = [1000.0] * 100
"""A baseline so slow that only a ceiling bounds the candidate's latency."""


def arm(name: str = "candidate", *, checked: int = 0, hallucinated: int = 0, known: int = 0,
        errors: int = 0, wins: int = 0, ties: int = 0, losses: int = 0,
        latencies: list[float] | None = None, calls: int | None = None) -> ArmSample:
    most = max(checked, known, wins + ties + losses, len(latencies or ()))
    return ArmSample(name, model=name, calls=most if calls is None else calls, scored=most,
                     hallucination_checked=checked, hallucinated=hallucinated, errors=errors,
                     error_known=known, wins=wins, ties=ties, losses=losses,
                     latencies=sorted(latencies or ()))


def gate(name: str, candidate: ArmSample, baseline: ArmSample, policy: GatePolicy = POLICY) -> GateCheck:
    found = [c for c in check_gates(candidate, baseline, policy) if c.result.name == name]
    assert found, f"no {name} gate"
    return found[0]


def gate_names(candidate: ArmSample, baseline: ArmSample, policy: GatePolicy = POLICY) -> list[str]:
    return [c.result.name for c in check_gates(candidate, baseline, policy)]


def with_policy(**fields: Any) -> GatePolicy:
    return replace(POLICY, **fields)


# The verdict: the whole interval decides.

def test_a_candidate_whose_interval_straddles_the_margin_holds_the_stage_instead_of_advancing() -> None:
    # 3% against 1%: the difference's interval [-2.9, +7.5] pts holds the 5 pts margin.
    candidate = arm(checked=100, hallucinated=3, latencies=ONE_TO_A_HUNDRED)
    baseline = arm("teacher", checked=100, hallucinated=1, latencies=ONE_TO_A_HUNDRED)

    check = gate("hallucination", candidate, baseline)
    verdict = judge_stage({"candidate": candidate, "teacher": baseline}, {"candidate": 10, "teacher": 90},
                          is_last_stage=False, seconds_in_stage=3600, policy=POLICY)

    assert check.verdict is Verdict.UNDECIDED and check.result.passed is False
    assert check.result.ci_low < POLICY.hallucination_margin < check.result.ci_high
    assert (verdict.action, verdict.hold_code) == (Action.HOLD, HoldCode.INCONCLUSIVE)
    assert "hallucination" in verdict.reason


def test_a_latency_interval_straddling_its_bound_neither_passes_nor_fails() -> None:
    candidate = arm(latencies=ONE_TO_A_HUNDRED)  # p95 interval [90, 100]

    check = gate("latency_p95", candidate, arm("teacher", latencies=SLOW), with_policy(max_latency_p95_ms=95))

    assert check.verdict is Verdict.UNDECIDED and check.result.passed is False


def test_an_upper_bound_exactly_at_the_bound_passes() -> None:
    check = gate("latency_p95", arm(latencies=ONE_TO_A_HUNDRED), arm("teacher", latencies=SLOW),
                 with_policy(max_latency_p95_ms=100))

    assert (check.result.ci_high, check.result.threshold) == (100, 100)
    assert check.verdict is Verdict.PASS and check.result.passed is True


def test_a_lower_bound_exactly_at_the_bound_is_not_yet_worse() -> None:
    check = gate("latency_p95", arm(latencies=ONE_TO_A_HUNDRED), arm("teacher", latencies=SLOW),
                 with_policy(max_latency_p95_ms=90))

    assert (check.result.ci_low, check.result.threshold) == (90, 90)
    assert check.verdict is Verdict.UNDECIDED


def test_a_lower_bound_above_the_bound_fails() -> None:
    check = gate("latency_p95", arm(latencies=ONE_TO_A_HUNDRED), arm("teacher", latencies=SLOW),
                 with_policy(max_latency_p95_ms=89))

    assert check.verdict is Verdict.FAIL and check.result.passed is False


def test_rate_bounds_exactly_at_the_margin_pass_and_do_not_fail() -> None:
    candidate, baseline = arm(checked=100, hallucinated=3), arm("teacher", checked=100, hallucinated=1)
    diff = newcombe_difference(3, 100, 1, 100, POLICY.confidence)

    at_high = gate("hallucination", candidate, baseline, with_policy(hallucination_margin=diff.high))
    at_low = gate("hallucination", candidate, baseline, with_policy(hallucination_margin=diff.low))

    assert at_high.verdict is Verdict.PASS
    assert at_low.verdict is Verdict.UNDECIDED


def test_a_p95_from_too_few_calls_has_no_upper_bound_and_holds() -> None:
    check = gate("latency_p95", arm(latencies=ONE_TO_A_HUNDRED[:20]), arm("teacher", latencies=ONE_TO_A_HUNDRED))

    assert check.result.ci_high is None
    assert check.verdict is Verdict.UNDECIDED


# Hallucination and error rates: the candidate's rate minus the baseline's.

def test_a_candidate_clearly_worse_than_the_baseline_fails_and_one_as_good_passes() -> None:
    worse = gate("hallucination", arm(checked=100, hallucinated=20), arm("teacher", checked=100, hallucinated=1))
    better = gate("hallucination", arm(checked=400, hallucinated=1), arm("teacher", checked=400, hallucinated=10))

    assert worse.verdict is Verdict.FAIL and worse.result.value == pytest.approx(0.19)
    assert better.verdict is Verdict.PASS and better.result.value == pytest.approx(-0.0225)


@pytest.mark.parametrize("name", ["hallucination", "errors"])
def test_rates_count_the_calls_checked_not_every_call(name: str) -> None:
    # 10 of 100 checked calls against 1 of 100 is 9 pts worse; of 1,000 calls it would be 0.9.
    if name == "hallucination":
        candidate = arm(checked=100, hallucinated=10, calls=1000)
        baseline = arm("teacher", checked=100, hallucinated=1, calls=1000)
    else:
        candidate = arm(known=100, errors=10, calls=1000)
        baseline = arm("teacher", known=100, errors=1, calls=1000)

    check = gate(name, candidate, baseline, with_policy(hallucination_margin=0.02, error_margin=0.02))

    assert check.verdict is Verdict.FAIL and check.result.value == pytest.approx(0.09)


def test_each_rate_gate_reads_its_own_margin() -> None:
    # Equal rates, 2 of 200 each: the difference's interval is about ±2.7 pts.
    same = {"checked": 200, "hallucinated": 2, "known": 200, "errors": 2}
    policy = with_policy(hallucination_margin=0.01, error_margin=0.10)

    assert gate("hallucination", arm(**same), arm("teacher", **same), policy).verdict is Verdict.UNDECIDED
    assert gate("errors", arm(**same), arm("teacher", **same), policy).verdict is Verdict.PASS


def test_a_rate_gate_uses_the_confidence_it_is_given() -> None:
    # The upper bound is 1.5 pts at 80% and 2.7 pts at 95%: a 2 pts margin tells them apart.
    same = {"checked": 200, "hallucinated": 2}
    loose, strict = with_policy(confidence=0.80, hallucination_margin=0.02), with_policy(hallucination_margin=0.02)

    assert gate("hallucination", arm(**same), arm("teacher", **same), loose).verdict is Verdict.PASS
    assert gate("hallucination", arm(**same), arm("teacher", **same), strict).verdict is Verdict.UNDECIDED


@pytest.mark.parametrize("missing", ["candidate", "teacher"])
def test_a_rate_gate_waits_for_both_arms_and_names_the_one_without_data(missing: str) -> None:
    candidate = arm(checked=0 if missing == "candidate" else 100, hallucinated=0)
    baseline = arm("teacher", checked=0 if missing == "teacher" else 100)

    check = gate("hallucination", candidate, baseline)

    assert check.verdict is Verdict.UNDECIDED and check.result.value is None
    assert f"no hallucination rate data yet for {missing}" in check.result.detail


def test_one_checked_call_per_arm_is_already_measured() -> None:
    check = gate("hallucination", arm(checked=1, hallucinated=1), arm("teacher", checked=1))

    assert check.result.value == 1.0 and check.result.n == 1
    assert check.verdict is Verdict.UNDECIDED


def test_a_rate_gate_reports_the_smaller_arms_count() -> None:
    check = gate("hallucination", arm(checked=100, hallucinated=1), arm("teacher", checked=300, hallucinated=3))

    assert check.result.n == 100


# The judge: how often the teacher's answer was preferred.

def test_the_judge_gate_counts_losses_not_wins() -> None:
    check = gate("judge_quality", arm(wins=150, ties=40, losses=10), arm("teacher"))

    assert check.verdict is Verdict.PASS and check.result.value == 0.05


def test_a_candidate_losing_half_its_judgements_fails_a_40_percent_limit() -> None:
    check = gate("judge_quality", arm(wins=50, ties=50, losses=100), arm("teacher"))

    assert check.verdict is Verdict.FAIL
    assert check.result.ci_low > 0.40 and check.result.threshold == 0.40


def test_the_judge_gate_uses_the_confidence_it_is_given() -> None:
    # 60 losses of 200: upper bound 34.3% at 80%, 36.7% at 95%.
    candidate = arm(wins=100, ties=40, losses=60)
    assert wilson(60, 200, 0.80).high < 0.35 < wilson(60, 200, 0.95).high

    loose = gate("judge_quality", candidate, arm("teacher"), with_policy(confidence=0.80, max_judge_loss_rate=0.35))
    strict = gate("judge_quality", candidate, arm("teacher"), with_policy(max_judge_loss_rate=0.35))

    assert (loose.verdict, strict.verdict) == (Verdict.PASS, Verdict.UNDECIDED)


def test_one_judgement_is_already_measured() -> None:
    check = gate("judge_quality", arm(losses=1), arm("teacher"))

    assert check.result.value == 1.0 and check.result.n == 1


def test_a_required_judge_without_verdicts_holds_the_stage() -> None:
    check = gate("judge_quality", arm(checked=100), arm("teacher", checked=100), with_policy(require_judge=True))

    assert check.verdict is Verdict.UNDECIDED
    assert "no judge verdicts" in check.result.detail


def test_an_optional_judge_is_checked_once_verdicts_arrive() -> None:
    no_verdicts, baseline = arm(checked=100), arm("teacher", checked=100)
    losing = arm(checked=100, wins=10, losses=90)

    assert "judge_quality" not in gate_names(no_verdicts, baseline)
    assert gate("judge_quality", losing, baseline).verdict is Verdict.FAIL


# Latency: the candidate's quantile against the baseline's, with a margin and a ceiling.

def test_a_ceiling_below_the_baselines_bound_is_the_bound() -> None:
    # Baseline p95 95 ms × 1.25 would allow 119 ms; the 80 ms ceiling is stricter.
    check = gate("latency_p95", arm(latencies=ONE_TO_A_HUNDRED), arm("teacher", latencies=ONE_TO_A_HUNDRED),
                 with_policy(max_latency_p95_ms=80))

    assert check.result.threshold == 80 and check.verdict is Verdict.FAIL


def test_a_ceiling_above_the_baselines_bound_does_not_loosen_it() -> None:
    twice_as_slow = [ms * 2 for ms in ONE_TO_A_HUNDRED]

    check = gate("latency_p95", arm(latencies=twice_as_slow), arm("teacher", latencies=ONE_TO_A_HUNDRED),
                 with_policy(max_latency_p95_ms=10_000))

    assert check.result.threshold == pytest.approx(95.05 * 1.25)
    assert check.verdict is Verdict.FAIL


def test_the_latency_gate_uses_the_confidence_it_is_given() -> None:
    # The p95's upper bound is 99 ms at 80% and 100 ms at 95%.
    candidate, baseline = arm(latencies=ONE_TO_A_HUNDRED), arm("teacher", latencies=SLOW)

    loose = gate("latency_p95", candidate, baseline, with_policy(confidence=0.80, max_latency_p95_ms=99.5))
    strict = gate("latency_p95", candidate, baseline, with_policy(max_latency_p95_ms=99.5))

    assert (loose.verdict, strict.verdict) == (Verdict.PASS, Verdict.UNDECIDED)


def test_a_slow_tail_fails_the_p95_gate_while_the_median_passes() -> None:
    baseline = [400.0 + i for i in range(100)]
    candidate = [400.0 + i for i in range(80)] + [2000.0] * 20

    p50 = gate("latency_p50", arm(latencies=candidate), arm("teacher", latencies=baseline))
    p95 = gate("latency_p95", arm(latencies=candidate), arm("teacher", latencies=baseline))

    assert (p50.verdict, p95.verdict) == (Verdict.PASS, Verdict.FAIL)


def test_the_median_is_held_to_its_own_margin() -> None:
    half_as_slow_again = [ms * 1.5 for ms in ONE_TO_A_HUNDRED]
    policy = with_policy(latency_p50_margin=0.10, latency_p95_margin=1.0)

    p50 = gate("latency_p50", arm(latencies=half_as_slow_again), arm("teacher", latencies=ONE_TO_A_HUNDRED), policy)

    assert p50.result.threshold == pytest.approx(50.5 * 1.10)
    assert p50.verdict is Verdict.FAIL


def test_the_ceiling_bounds_the_p95_only() -> None:
    same = [400.0 + i for i in range(100)]
    policy = with_policy(max_latency_p95_ms=200)

    p50 = gate("latency_p50", arm(latencies=same), arm("teacher", latencies=same), policy)
    p95 = gate("latency_p95", arm(latencies=same), arm("teacher", latencies=same), policy)

    assert (p50.verdict, p95.verdict) == (Verdict.PASS, Verdict.FAIL)


@pytest.mark.parametrize("missing", ["candidate", "teacher"])
def test_a_latency_gate_waits_for_both_arms_and_names_the_one_without_data(missing: str) -> None:
    candidate = arm(latencies=[] if missing == "candidate" else ONE_TO_A_HUNDRED)
    baseline = arm("teacher", latencies=[] if missing == "teacher" else ONE_TO_A_HUNDRED)

    check = gate("latency_p50", candidate, baseline)

    assert check.verdict is Verdict.UNDECIDED and check.result.value is None
    assert f"no latencies yet for {missing}" in check.result.detail


# The stage: no verdict before both arms have the minimum sample.

@pytest.mark.parametrize(("scored", "held_for_sample"), [(99, True), (100, False)])
def test_a_stage_is_judged_from_exactly_the_minimum_sample(scored: int, held_for_sample: bool) -> None:
    good = {"checked": scored, "known": scored, "latencies": ONE_TO_A_HUNDRED[:scored]}
    samples = {"candidate": arm(**good), "teacher": arm("teacher", **good)}

    verdict = judge_stage(samples, {"candidate": 10, "teacher": 90}, is_last_stage=False,
                          seconds_in_stage=3600, policy=POLICY)

    assert (verdict.hold_code is HoldCode.SAMPLE) is held_for_sample


def test_a_stage_waits_for_the_baselines_sample_too() -> None:
    samples = {"candidate": arm(checked=100, latencies=ONE_TO_A_HUNDRED),
               "teacher": arm("teacher", checked=99, latencies=ONE_TO_A_HUNDRED[:99])}

    verdict = judge_stage(samples, {"candidate": 10, "teacher": 90}, is_last_stage=False,
                          seconds_in_stage=3600, policy=POLICY)

    assert verdict.hold_code is HoldCode.SAMPLE and "teacher 99/100" in verdict.reason


@pytest.mark.parametrize(("seconds", "action"), [(599.0, Action.HOLD), (600.0, Action.ADVANCE)])
def test_passing_gates_advance_once_the_stage_is_exactly_its_minimum_age(seconds: float, action: Action) -> None:
    good = {"checked": 100, "known": 100, "latencies": ONE_TO_A_HUNDRED}
    samples = {"candidate": arm(**good), "teacher": arm("teacher", **good)}

    verdict = judge_stage(samples, {"candidate": 10, "teacher": 90}, is_last_stage=False,
                          seconds_in_stage=seconds, policy=POLICY)

    assert verdict.action is action


def test_a_failed_gate_rolls_back_at_once_even_while_another_is_undecided() -> None:
    # The hallucination rate is clearly worse; the p95 of 20 latencies has no upper bound yet.
    samples = {"candidate": arm(checked=100, hallucinated=20, latencies=ONE_TO_A_HUNDRED[:20]),
               "teacher": arm("teacher", checked=100, hallucinated=1, latencies=ONE_TO_A_HUNDRED)}

    verdict = judge_stage(samples, {"candidate": 10, "teacher": 90}, is_last_stage=False,
                          seconds_in_stage=3600, policy=POLICY)

    assert verdict.action is Action.ROLL_BACK and verdict.reason.startswith("gate hallucination failed")

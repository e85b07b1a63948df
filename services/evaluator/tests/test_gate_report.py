"""What the offline gates report, field by field, and where each bound sits exactly.

The release report is what a person reads to decide whether to trust a verdict: each gate must
name the metric it read, the bound, the interval and the evidence count, and each bound must be
the configured one to the last digit (equality passes, a hair over fails).
"""

from __future__ import annotations

import pytest

from distillery_contracts.common import Comparator
from distillery_evaluator.domain.gates import GateConfig, GateReport, evaluate_gates
from distillery_evaluator.domain.metrics import role_stats
from distillery_evaluator.domain.results import Answer, ItemScore

ALL_SCORERS = {"deterministic", "judge", "embedding"}


def stats_for(role, model, flagged, n, preferences=(), similarity=0.9, latency=300.0, failed=0):
    answers = [Answer(f"i{i}", role, model, "x", latency_ms=latency) for i in range(n - failed)]
    answers += [Answer(f"f{i}", role, model, None, error="timeout") for i in range(failed)]
    scores = [ItemScore(f"i{i}", role, "deterministic", 1.0 if i < flagged else 0.0) for i in range(n)]
    scores += [ItemScore(f"i{i}", role, "judge", p) for i, p in enumerate(preferences)]
    if similarity is not None:
        scores += [ItemScore(f"i{i}", role, "embedding", similarity) for i in range(n)]
    return role_stats(role, model, answers, scores, lambda m, u: None)


def gates_of(report: GateReport) -> dict:
    return {g.name: g for g in report.gates}


def test_each_gate_names_its_metric_bound_interval_and_evidence():
    candidate = stats_for("candidate", "ft:new", 3, 100, [0.0] * 99 + [1.0], latency=250.0)
    teacher = stats_for("teacher", "gpt-t", 2, 100)
    report = evaluate_gates({"candidate": candidate, "teacher": teacher}, ALL_SCORERS,
                            GateConfig(hallucination_margin=0.01))
    gates = gates_of(report)
    assert list(gates) == ["hallucination", "judge_non_inferiority", "similarity", "latency_p95", "error_rate"]
    assert report.skipped == []

    h = gates["hallucination"]
    assert (h.metric, h.model, h.value, h.threshold, h.comparator, h.n) == (
        "hallucination_rate", "ft:new", 0.03, 0.03, Comparator.LE, 100)
    assert (h.ci_low, h.ci_high) == (candidate.hallucination.low, candidate.hallucination.high)
    assert h.ci_low < 0.03 < h.ci_high
    assert h.detail == "3/100 answers flagged; teacher 0.02 (2/100) + margin 0.01; 95% Wilson CI"

    s = gates["similarity"]
    assert (s.metric, s.model, s.value, s.threshold, s.comparator, s.n) == (
        "similarity_mean", "ft:new", pytest.approx(0.9), 0.8, Comparator.GE, 100)
    assert s.detail == "mean cosine similarity to the teacher's answers, floor 0.8"

    lat = gates["latency_p95"]
    assert (lat.metric, lat.model, lat.value, lat.threshold, lat.comparator, lat.n) == (
        "latency_p95_ms", "ft:new", 250.0, 5000.0, Comparator.LE, 100)
    assert lat.detail == "p50 250 ms, bound 5000 ms"

    err = gates["error_rate"]
    assert (err.metric, err.model, err.value, err.threshold, err.comparator, err.n) == (
        "error_rate", "ft:new", 0.0, 0.02, Comparator.LE, 100)
    assert err.detail == "share of prompts the candidate failed to answer after retries"

    judge = gates["judge_non_inferiority"]
    assert (judge.metric, judge.model, judge.threshold, judge.comparator, judge.n) == (
        "judge_preference_lower_bound", "ft:new", -0.1, Comparator.GE, 100)
    assert judge.ci_low == judge.value and judge.ci_high is None
    assert judge.detail.startswith("win 0.01 / tie 0.99 / loss 0 vs the teacher, both orders; mean preference 0.01")
    assert judge.detail.endswith("one-sided 95% lower bound must be >= -0.1")
    for gate in (s, lat, err):
        assert (gate.ci_low, gate.ci_high) == (None, None)


def test_scorers_that_did_not_run_are_named_and_their_gates_left_out():
    roles = {"candidate": stats_for("candidate", "s", 0, 10), "teacher": stats_for("teacher", "t", 0, 10)}
    report = evaluate_gates(roles, {"deterministic"}, GateConfig())
    assert report.skipped == ["judge_non_inferiority: no judge endpoint configured",
                              "similarity: embedding scorer disabled"]


def test_the_hallucination_bound_is_inclusive_and_never_above_one():
    teacher = stats_for("teacher", "t", 2, 100)
    at = {"candidate": stats_for("candidate", "s", 4, 100), "teacher": teacher}
    over = {"candidate": stats_for("candidate", "s", 5, 100), "teacher": teacher}
    assert gates_of(evaluate_gates(at, set(), GateConfig(hallucination_margin=0.02)))["hallucination"].passed
    assert not gates_of(evaluate_gates(over, set(), GateConfig(hallucination_margin=0.02)))["hallucination"].passed
    all_wrong = {"candidate": stats_for("candidate", "s", 10, 10), "teacher": stats_for("teacher", "t", 10, 10)}
    gate = gates_of(evaluate_gates(all_wrong, set(), GateConfig(hallucination_margin=0.5)))["hallucination"]
    assert gate.threshold == 1.0 and gate.passed


def test_a_teacher_without_hallucination_evidence_counts_as_zero_not_as_anything_goes():
    roles = {"candidate": stats_for("candidate", "s", 1, 10), "teacher": stats_for("teacher", "t", 0, 0)}
    gate = gates_of(evaluate_gates(roles, set(), GateConfig(hallucination_margin=0.05)))["hallucination"]
    assert gate.threshold == 0.05 and not gate.passed
    assert gate.detail.startswith("1/10 answers flagged; teacher n/a (0/0) + margin 0.05")


def test_the_judge_bound_is_the_negated_margin_and_equality_passes():
    # All preferences equal: no spread, so the lower bound is the mean itself.
    roles = {"candidate": stats_for("candidate", "s", 0, 10, [-0.1] * 10), "teacher": stats_for("teacher", "t", 0, 10)}
    gate = gates_of(evaluate_gates(roles, {"judge"}, GateConfig(judge_margin=0.1)))["judge_non_inferiority"]
    assert gate.value == pytest.approx(-0.1) and gate.threshold == -0.1
    below = {"candidate": stats_for("candidate", "s", 0, 10, [-0.2] * 10), "teacher": roles["teacher"]}
    assert not gates_of(evaluate_gates(below, {"judge"}, GateConfig(judge_margin=0.1)))["judge_non_inferiority"].passed


def test_the_judge_bound_uses_the_configured_confidence():
    prefs = [0.0] * 80 + [-0.5] * 20
    roles = {"candidate": stats_for("candidate", "s", 0, 100, prefs), "teacher": stats_for("teacher", "t", 0, 100)}
    loose = gates_of(evaluate_gates(roles, {"judge"}, GateConfig(confidence=0.6)))["judge_non_inferiority"]
    strict = gates_of(evaluate_gates(roles, {"judge"}, GateConfig(confidence=0.99)))["judge_non_inferiority"]
    assert strict.value < loose.value < -0.1
    assert "one-sided 99% lower bound" in strict.detail


def test_similarity_latency_and_error_bounds_are_inclusive():
    roles = {"candidate": stats_for("candidate", "s", 0, 50, similarity=0.75, latency=800.0, failed=1),
             "teacher": stats_for("teacher", "t", 0, 50)}
    gates = gates_of(evaluate_gates(roles, {"embedding"}, GateConfig(
        similarity_floor=0.75, latency_p95_max_ms=800, max_error_rate=0.02)))
    assert gates["similarity"].passed and gates["latency_p95"].passed and gates["error_rate"].passed
    assert gates["error_rate"].value == 0.02
    gates = gates_of(evaluate_gates(roles, {"embedding"}, GateConfig(
        similarity_floor=0.76, latency_p95_max_ms=799, max_error_rate=0.019)))
    assert not any(gates[name].passed for name in ("similarity", "latency_p95", "error_rate"))


def test_a_scorer_that_ran_without_numbers_fails_its_gate():
    roles = {"candidate": stats_for("candidate", "s", 0, 10, similarity=None),
             "teacher": stats_for("teacher", "t", 0, 10)}
    gate = gates_of(evaluate_gates(roles, {"embedding"}, GateConfig()))["similarity"]
    assert gate.value is None and not gate.passed and gate.n == 0


def test_a_report_without_gates_does_not_pass():
    assert GateReport(gates=[]).outcome.value == "failed"


def test_every_baseline_is_named_and_compared_with_its_own_margins():
    candidate = stats_for("candidate", "ft:new", 2, 50, [0.25] * 50)
    roles = {"candidate": candidate, "teacher": stats_for("teacher", "t", 0, 50),
             "production": stats_for("production", "ft:prod", 1, 50, [0.5] * 50),
             "baseline:small": stats_for("baseline:small", "ft:small", 2, 50, [0.75] * 50)}
    config = GateConfig(baseline_margin=0.02, baseline_quality_margin=0.25)
    gates = gates_of(evaluate_gates(roles, {"deterministic", "judge"}, config))
    hal, quality = gates["vs_production_hallucination"], gates["vs_production_quality"]
    assert (hal.metric, hal.model, hal.value, hal.threshold, hal.comparator, hal.n) == (
        "hallucination_rate", "ft:new", 0.04, 0.04, Comparator.LE, 50)
    assert hal.passed and (hal.ci_low, hal.ci_high) == (candidate.hallucination.low, candidate.hallucination.high)
    assert hal.detail == "ft:prod: 0.02 (1/50) + margin 0.02; the candidate must beat or match it"
    assert (quality.metric, quality.value, quality.threshold, quality.comparator, quality.n) == (
        "judge_preference_mean", 0.25, 0.25, Comparator.GE, 50)
    assert quality.passed
    assert quality.detail == "judge preference vs the teacher: ft:prod 0.5, margin 0.25"
    assert not gates["vs_small_quality"].passed and gates["vs_small_quality"].threshold == 0.5
    assert gates["vs_small_hallucination"].passed


def test_a_baseline_without_evidence_sets_the_strictest_bar():
    candidate = stats_for("candidate", "ft:new", 1, 10, [0.9] * 10, similarity=0.99)
    empty = stats_for("production", "ft:prod", 0, 0, similarity=None)
    roles = {"candidate": candidate, "teacher": stats_for("teacher", "t", 0, 10), "production": empty}
    gates = gates_of(evaluate_gates(roles, {"judge"}, GateConfig(baseline_quality_margin=0.0)))
    assert gates["vs_production_hallucination"].threshold == 0.0
    assert not gates["vs_production_hallucination"].passed
    assert gates["vs_production_quality"].threshold == 1.0 and not gates["vs_production_quality"].passed
    gates = gates_of(evaluate_gates(roles, {"embedding"}, GateConfig(baseline_quality_margin=0.0)))
    quality = gates["vs_production_quality"]
    assert (quality.metric, quality.threshold, quality.n) == ("similarity_mean", 1.0, 10)
    assert not quality.passed
    assert quality.detail == "similarity to the teacher: ft:prod n/a, margin 0"


def test_the_hallucination_margin_over_a_baseline_is_capped_at_one():
    roles = {"candidate": stats_for("candidate", "s", 10, 10), "teacher": stats_for("teacher", "t", 10, 10),
             "baseline:old": stats_for("baseline:old", "o", 10, 10)}
    gate = gates_of(evaluate_gates(roles, set(), GateConfig(baseline_margin=0.5)))["vs_old_hallucination"]
    assert gate.threshold == 1.0


def test_a_baseline_named_by_a_fine_tuned_model_id_keeps_its_colons():
    roles = {"candidate": stats_for("candidate", "s", 0, 10, similarity=0.75),
             "teacher": stats_for("teacher", "t", 0, 10),
             "baseline:ft:gpt-4o-mini:acme::B1": stats_for("baseline:ft:gpt-4o-mini:acme::B1", "b", 0, 10,
                                                           similarity=0.5)}
    gates = gates_of(evaluate_gates(roles, {"embedding"}, GateConfig(baseline_quality_margin=0.25)))
    quality = gates["vs_ft:gpt-4o-mini:acme::B1_quality"]
    assert "vs_ft:gpt-4o-mini:acme::B1_hallucination" in gates
    assert quality.passed and quality.threshold == 0.25
    assert quality.detail == "similarity to the teacher: b 0.5, margin 0.25"

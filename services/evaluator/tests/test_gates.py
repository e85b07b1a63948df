"""Gate arithmetic: margins, confidence bounds, missing evidence, skipped scorers."""

from __future__ import annotations

from distillery_evaluator.domain.gates import GateConfig, evaluate_gates
from distillery_evaluator.domain.metrics import role_stats
from distillery_evaluator.domain.results import Answer, ItemScore
from distillery_evaluator.domain.stats import lower_bound, wilson


def stats_for(role, model, flagged, n, preferences=(), similarity=0.9, latency=300.0):
    answers = [Answer(f"i{i}", role, model, "x", latency_ms=latency) for i in range(n)]
    scores = [ItemScore(f"i{i}", role, "deterministic", 1.0 if i < flagged else 0.0) for i in range(n)]
    scores += [ItemScore(f"i{i}", role, "judge", p) for i, p in enumerate(preferences)]
    scores += [ItemScore(f"i{i}", role, "embedding", similarity) for i in range(n)]
    return role_stats(role, model, answers, scores, lambda m, u: None)


def test_hallucination_gate_allows_the_teacher_rate_plus_the_margin():
    roles = {"candidate": stats_for("candidate", "s", 3, 100), "teacher": stats_for("teacher", "t", 2, 100)}
    report = evaluate_gates(roles, {"deterministic"}, GateConfig(hallucination_margin=0.01))
    gate = report.gates[0]
    assert gate.name == "hallucination" and gate.passed and gate.threshold == 0.03
    report = evaluate_gates(roles, {"deterministic"}, GateConfig(hallucination_margin=0.0))
    assert not report.gates[0].passed and report.outcome.value == "failed"


def test_judge_non_inferiority_uses_the_lower_confidence_bound():
    slightly_worse = [0.0] * 80 + [-0.5] * 20
    roles = {"candidate": stats_for("candidate", "s", 0, 100, slightly_worse),
             "teacher": stats_for("teacher", "t", 0, 100)}
    gate = next(g for g in evaluate_gates(roles, {"judge"}, GateConfig(judge_margin=0.2)).gates
                if g.name == "judge_non_inferiority")
    assert gate.passed and -0.2 < gate.value < -0.1
    gate = next(g for g in evaluate_gates(roles, {"judge"}, GateConfig(judge_margin=0.1)).gates
                if g.name == "judge_non_inferiority")
    assert not gate.passed


def test_a_gate_without_evidence_fails():
    roles = {"candidate": stats_for("candidate", "s", 0, 1, [1.0]), "teacher": stats_for("teacher", "t", 0, 1)}
    gate = next(g for g in evaluate_gates(roles, {"judge"}, GateConfig()).gates
                if g.name == "judge_non_inferiority")
    assert gate.value is None and not gate.passed


def test_gates_of_scorers_that_did_not_run_are_named_as_skipped():
    roles = {"candidate": stats_for("candidate", "s", 0, 10), "teacher": stats_for("teacher", "t", 0, 10)}
    report = evaluate_gates(roles, {"deterministic"}, GateConfig())
    assert {g.name for g in report.gates} == {"hallucination", "latency_p95", "error_rate"}
    assert len(report.skipped) == 2 and report.outcome.value == "passed"


def test_latency_gate_reads_the_p95():
    roles = {"candidate": stats_for("candidate", "s", 0, 10, latency=900.0),
             "teacher": stats_for("teacher", "t", 0, 10)}
    gate = next(g for g in evaluate_gates(roles, set(), GateConfig(latency_p95_max_ms=800)).gates
                if g.name == "latency_p95")
    assert gate.value == 900.0 and not gate.passed


def test_wilson_interval_and_t_bound_match_known_values():
    p = wilson(10, 100)
    assert round(p.low, 4) == 0.0552 and round(p.high, 4) == 0.1744
    assert wilson(0, 0).low is None
    assert lower_bound([1.0, 1.0, 1.0]).lower == 1.0
    assert lower_bound([0.5]).lower is None


def test_a_candidate_as_good_as_production_within_noise_passes_but_a_worse_one_does_not():
    production = stats_for("baseline:production", "ft:prod", 0, 50, similarity=0.998)
    teacher = stats_for("teacher", "t", 0, 50)
    tied = {"candidate": stats_for("candidate", "ft:new", 0, 50, similarity=0.989),
            "teacher": teacher, "baseline:production": production}
    gates = {g.name: g for g in evaluate_gates(tied, {"deterministic", "embedding"}, GateConfig()).gates}
    assert gates["vs_production_quality"].passed
    assert gates["vs_production_quality"].threshold == 0.998 - 0.02

    worse = {"candidate": stats_for("candidate", "ft:new", 6, 50, similarity=0.95),
             "teacher": teacher, "baseline:production": production}
    gates = {g.name: g for g in evaluate_gates(worse, {"deterministic", "embedding"}, GateConfig()).gates}
    assert not gates["vs_production_hallucination"].passed
    assert not gates["vs_production_quality"].passed

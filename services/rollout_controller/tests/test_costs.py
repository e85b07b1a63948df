"""Cost accounting against the seed platform's reference figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from distillery_rollout_controller.domain.costs import ModelTraffic, cost_report
from distillery_runtime.pricing import PriceTable

T0 = datetime(2026, 11, 2, tzinfo=UTC)
STUDENT = "ft:gpt-4o-mini-2024-07-18:clinic::s1"


def traffic(model: str, calls: int, tokens: tuple[int, int], hours: float = 24.0) -> ModelTraffic:
    cost = PriceTable().cost_of_call(model, *tokens) * calls
    return ModelTraffic(model=model, calls=calls, priced_calls=calls, cost_usd=cost,
                        input_tokens=tokens[0] * calls, output_tokens=tokens[1] * calls,
                        first_at=T0, last_at=T0 + timedelta(hours=hours))


def test_reference_turn_costs_six_tenths_of_a_cent_on_the_teacher():
    report = cost_report({"teacher": 100.0}, {"teacher": "gpt-4.1"},
                         [traffic("gpt-4.1", 10_000, (1000, 500))], PriceTable(), "gpt-4.1")
    assert report.teacher_per_call_usd == pytest.approx(0.006)
    assert report.calls_per_day == pytest.approx(10_000) and report.volume_basis == "observed"
    assert report.monthly_saving_usd == pytest.approx(0.0)


def test_90_10_hybrid_blends_observed_costs_and_projects_the_monthly_saving():
    report = cost_report({"production": 90.0, "teacher": 10.0}, {"production": STUDENT, "teacher": "gpt-4.1"},
                         [traffic("gpt-4.1", 1_000, (1000, 500)), traffic(STUDENT, 9_000, (1000, 500))],
                         PriceTable(), "gpt-4.1")
    student_call = (1000 * 0.30 + 500 * 1.20) / 1e6
    assert report.blended_per_call_usd == pytest.approx(0.9 * student_call + 0.1 * 0.006)
    assert report.monthly_all_teacher_usd == pytest.approx(0.006 * 10_000 * 30)
    assert report.saving_percent == pytest.approx(100 * (1 - (0.9 * student_call + 0.0006) / 0.006))
    assert {a.arm: a.basis for a in report.arms} == {"production": "observed", "teacher": "observed"}


def test_arm_without_calls_yet_is_priced_from_the_traffic_token_mix():
    report = cost_report({"candidate": 10.0, "teacher": 90.0}, {"candidate": STUDENT, "teacher": "gpt-4.1"},
                         [traffic("gpt-4.1", 100, (2000, 100))], PriceTable(), "gpt-4.1",
                         calls_per_day=5_000)
    candidate = report.arms[0]
    assert candidate.basis == "estimated"
    assert candidate.cost_per_call_usd == pytest.approx((2000 * 0.30 + 100 * 1.20) / 1e6)
    assert report.calls_per_day == 5_000 and report.volume_basis == "given"


def test_without_traffic_the_reference_volume_and_turn_are_used():
    report = cost_report({"teacher": 100.0}, {"teacher": "gpt-4.1"}, [], PriceTable(), "gpt-4.1")
    assert report.volume_basis == "reference" and report.calls_per_day == 10_000
    assert report.arms[0].basis == "reference" and report.teacher_per_call_usd == pytest.approx(0.006)


def test_dated_snapshots_of_the_teacher_count_as_the_teacher():
    report = cost_report({"teacher": 100.0}, {"teacher": "gpt-4.1"},
                         [traffic("gpt-4.1-2025-04-14", 300, (1000, 500)), traffic("gpt-4.1", 100, (1000, 500))],
                         PriceTable(), "gpt-4.1")
    assert report.arms[0].basis == "observed" and report.arms[0].calls == 400

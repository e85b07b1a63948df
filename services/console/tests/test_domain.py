"""Pure rules of the console: answer differences, failing items, cost points, chart scaling."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from distillery_console.domain.answers import diff_against, is_failing
from distillery_console.domain.charts import HEIGHT, PAD, WIDTH, Series, line_chart
from distillery_console.domain.savings import cost_point
from distillery_contracts.samples import sample_evaluation_item_scored, sample_metrics, sample_rollout_decided


def test_only_the_words_the_teacher_did_not_say_are_marked():
    segments = diff_against("Dr Okafor has 9:30 free on Thursday.", "Dr Okafor has 9:30 and 11:00 free on Thursday.")
    assert [s.text for s in segments if s.changed] == ["and 11:00 "]
    assert "".join(s.text for s in segments) == "Dr Okafor has 9:30 and 11:00 free on Thursday."


def test_an_answer_equal_to_the_teacher_has_nothing_marked():
    assert [s.changed for s in diff_against("Yes, 9:30.", "Yes, 9:30.")] == [False]


@pytest.mark.parametrize(("verdicts", "failing"), [
    ({"hallucinated": True}, True),
    ({"judge_outcome": "loss"}, True),
    ({"text": None, "error": "timeout"}, True),
    ({"hallucinated": False, "judge_outcome": "tie"}, False),
    ({"hallucinated": None, "judge_outcome": "win"}, False),
])
def test_an_item_fails_on_a_hallucination_a_lost_judgement_or_no_answer(verdicts, failing):
    candidate = {"role": "candidate", "model": "s", "text": "x", **verdicts}
    item = sample_evaluation_item_scored(answers=[{"role": "teacher", "model": "t", "text": "x"}, candidate])
    assert is_failing(item) is failing


def test_the_blended_cost_weights_each_arm_by_its_share_of_traffic():
    decision = sample_rollout_decided(weights={"candidate": 25.0, "teacher": 75.0}, arm_metrics={
        "candidate": sample_metrics(cost_per_call_usd=0.001), "teacher": sample_metrics(cost_per_call_usd=0.005)})
    point = cost_point(decision)
    assert point is not None
    assert point.blended_usd == pytest.approx(0.25 * 0.001 + 0.75 * 0.005)
    assert point.monthly_saving(100) == pytest.approx((0.005 - 0.004) * 100 * 30)


def test_no_cost_point_when_a_weighted_arm_has_no_cost():
    decision = sample_rollout_decided(weights={"candidate": 25.0, "teacher": 75.0}, arm_metrics={
        "candidate": sample_metrics(cost_per_call_usd=None), "teacher": sample_metrics(cost_per_call_usd=0.005)})
    assert cost_point(decision) is None


def test_the_chart_spans_the_view_box_from_zero_to_the_highest_value():
    t = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    chart = line_chart("c", [Series("a", [(t, 1.0), (t + 60, 2.0)])])
    (x0, y0), (x1, y1) = [tuple(map(float, p.split(","))) for p in chart.lines[0].points.split()]
    assert (x0, x1) == (PAD, WIDTH - PAD)
    assert y1 == PAD and y0 == pytest.approx(HEIGHT - PAD - (HEIGHT - 2 * PAD) / 2)
    assert line_chart("empty", [Series("a", [])]).empty

"""Stage plans and the weights they publish."""

from __future__ import annotations

import pytest

from distillery_rollout_controller.domain.plan import StagePlan


def test_first_student_takes_its_share_from_the_teacher():
    plan = StagePlan()
    assert [plan.stage_weights(i, has_production=False) for i in (0, 4)] == [
        {"candidate": 10.0, "teacher": 90.0}, {"candidate": 90.0, "teacher": 10.0}]


def test_new_student_takes_its_share_from_production_while_the_teacher_keeps_its_floor():
    plan = StagePlan()
    assert plan.stage_weights(1, has_production=True) == {"candidate": 25.0, "production": 65.0,
                                                          "teacher": 10.0}
    assert plan.stage_weights(4, has_production=True) == {"candidate": 90.0, "teacher": 10.0}


def test_steady_state_is_all_teacher_or_the_90_10_hybrid():
    plan = StagePlan()
    assert plan.steady_weights(has_production=False) == {"teacher": 100.0}
    assert plan.steady_weights(has_production=True) == {"production": 90.0, "teacher": 10.0}


@pytest.mark.parametrize(("percents", "floor", "message"), [
    ((10, 25, 20, 90), 10, "must increase"),
    ((10, 25, 50), 10, "last stage must be 90%"),
    ((), 10, "at least one stage"),
    ((0, 90), 10, "must send some traffic"),
])
def test_a_plan_that_breaks_the_rules_says_which(percents, floor, message):
    with pytest.raises(ValueError, match=message):
        StagePlan.of(percents, floor)


def test_stage_is_known_from_the_candidate_share():
    assert StagePlan().stage_of(50.0) == 2 and StagePlan().stage_of(33.0) is None

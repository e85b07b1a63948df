"""Each item of a finished run becomes one EvaluationItemScored with every answer and its verdicts."""

from __future__ import annotations

from datetime import UTC, datetime

from distillery_contracts.evaluations import JudgeOutcome
from distillery_evaluator.domain.evalset import EvalItem
from distillery_evaluator.domain.items import scored_items
from distillery_evaluator.domain.requests import ModelTarget, RunRequest
from distillery_evaluator.domain.results import (
    CANDIDATE,
    DETERMINISTIC,
    EMBEDDING,
    JUDGE,
    TEACHER,
    Answer,
    ItemScore,
)
from distillery_evaluator.domain.runs import RunSummary
from distillery_contracts.evaluations import EvalOutcome

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


def summary() -> RunSummary:
    request = RunRequest(run_id="eval-1", trigger="command", cycle_id="cycle-1",
                         candidate=ModelTarget(model="ft:student"), teacher=ModelTarget(model="gpt-4.1"))
    items = [EvalItem(f"q{i}", "golden", [{"role": "system", "content": "You are the clinic."},
                                          {"role": "user", "content": f"Slot on day {i}?"}]) for i in range(3)]
    answers = [Answer(i.item_id, role, model, f"{role} says 9:30") for i in items
               for role, model in ((CANDIDATE, "ft:student"), (TEACHER, "gpt-4.1"))]
    answers[4] = Answer("q2", CANDIDATE, "ft:student", None, error="timeout")
    scores = [
        ItemScore("q0", CANDIDATE, DETERMINISTIC, 1.0, "hallucinated", {"findings": ["time '11:00' is not in the reference"]}),
        ItemScore("q1", CANDIDATE, DETERMINISTIC, 0.0, "clean", {"findings": []}),
        ItemScore("q0", CANDIDATE, JUDGE, -1.0, "loss", {"reasons": ["invents a slot", ""]}),
        ItemScore("q1", CANDIDATE, JUDGE, None, "abstained", {"reason": "judge down"}),
        ItemScore("q0", CANDIDATE, EMBEDDING, 0.81, None, {}),
    ]
    return RunSummary(request, EvalOutcome.FAILED, items={i.item_id: i for i in items}, answers=answers,
                      scores=scores)


def test_every_item_is_published_in_order_with_the_teacher_first():
    events = scored_items(summary(), NOW)
    assert [(e.item_id, e.position) for e in events] == [("q0", 0), ("q1", 1), ("q2", 2)]
    assert [a.role for a in events[0].answers] == [TEACHER, CANDIDATE]
    assert events[0].prompt == "user: Slot on day 0?"
    assert {(e.run_id, e.cycle_id, e.candidate_model) for e in events} == {("eval-1", "cycle-1", "ft:student")}


def test_verdicts_carry_the_fact_check_the_judge_and_the_similarity():
    q0, q1, q2 = (e.answers[1] for e in scored_items(summary(), NOW))
    assert (q0.hallucinated, q0.fact_check) == (True, "time '11:00' is not in the reference")
    assert (q0.judge_outcome, q0.judge_reason, q0.similarity) == (JudgeOutcome.LOSS, "invents a slot", 0.81)
    assert (q1.hallucinated, q1.judge_outcome) == (False, None)  # an abstaining judge says nothing
    assert (q2.text, q2.error, q2.hallucinated) == (None, "timeout", None)

"""The pairwise judge sees each pair in both orders, so position bias cancels."""

from __future__ import annotations

from evaluator_support import SYSTEM, TEACHER

from distillery_contracts.evaluations import JudgeOutcome
from distillery_evaluator.adapters.chat import CallPolicy
from distillery_evaluator.adapters.fakes import FakeChatClient
from distillery_evaluator.domain.evalset import GOLDEN, EvalItem
from distillery_evaluator.domain.judging import PairwiseVerdict, combine_orders, outcome_of
from distillery_evaluator.domain.requests import ModelTarget
from distillery_evaluator.domain.results import Answer
from distillery_evaluator.scorers import PairwiseJudgeScorer, ScoringCase

ITEM = EvalItem("g-1", GOLDEN, [SYSTEM, {"role": "user", "content": "How much is a skin check?"}],
                ["A skin check costs €90."])
STUDENT_ANSWER = Answer("g-1", "candidate", "student", "It's €90.")
TEACHER_ANSWER = Answer("g-1", "teacher", TEACHER, "A skin check costs €90.")


def judge(reply) -> PairwiseJudgeScorer:
    client = FakeChatClient(lambda target, messages: reply(messages[1]["content"]))
    return PairwiseJudgeScorer(client, ModelTarget(model=TEACHER), CallPolicy(backoff_s=0))


def answers_in_order(prompt: str) -> tuple[str, str]:
    first = prompt.split("Answer A:\n", 1)[1].split("\n\nAnswer B:\n", 1)[0]
    return first, prompt.split("Answer B:\n", 1)[1]


async def test_a_judge_that_always_prefers_the_first_answer_yields_a_tie():
    scorer = judge(lambda prompt: '{"winner": "A", "reason": "first is best"}')
    [score] = await scorer.score([ScoringCase(ITEM, STUDENT_ANSWER, TEACHER_ANSWER)])
    assert score.label == JudgeOutcome.TIE and score.value == 0.0
    assert (score.detail["student_first"], score.detail["teacher_first"]) == ("A", "A")


async def test_a_judge_that_always_prefers_the_second_answer_also_yields_a_tie():
    scorer = judge(lambda prompt: '{"winner": "B"}')
    [score] = await scorer.score([ScoringCase(ITEM, STUDENT_ANSWER, TEACHER_ANSWER)])
    assert score.label == JudgeOutcome.TIE


async def test_a_consistent_preference_for_the_student_survives_the_swap():
    def prefers_student(prompt):
        first, _ = answers_in_order(prompt)
        return '{"winner": "A"}' if first == STUDENT_ANSWER.text else '{"winner": "B"}'

    [score] = await judge(prefers_student).score([ScoringCase(ITEM, STUDENT_ANSWER, TEACHER_ANSWER)])
    assert score.label == JudgeOutcome.WIN and score.value == 1.0


async def test_an_unreadable_verdict_is_an_abstention_not_a_win():
    [score] = await judge(lambda prompt: "Sure! I can help with appointments.").score(
        [ScoringCase(ITEM, STUDENT_ANSWER, TEACHER_ANSWER)])
    assert score.value is None and score.label == "abstained"


def test_a_win_in_one_order_and_a_tie_in_the_other_is_a_win():
    assert outcome_of(combine_orders(PairwiseVerdict("A"), PairwiseVerdict("tie"))) == JudgeOutcome.WIN
    assert outcome_of(combine_orders(PairwiseVerdict("B"), PairwiseVerdict("A"))) == JudgeOutcome.LOSS

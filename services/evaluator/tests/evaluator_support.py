"""Helpers for the evaluator's unit tests: a tiny golden set, responders, a wired evaluator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from distillery_evaluator.adapters.chat import CallPolicy, ChatEndpoints, EndpointError
from distillery_evaluator.adapters.fakes import FakeChatClient, FakeEmbedder, FakeEvalRepository, FakeLangfuseSink
from distillery_evaluator.domain.evalset import GOLDEN, EvalItem, EvalSet
from distillery_evaluator.domain.gates import GateConfig
from distillery_evaluator.domain.requests import ModelTarget, RunRequest
from distillery_evaluator.domain.results import Usage
from distillery_evaluator.scorers import (
    DeterministicHallucinationScorer,
    EmbeddingSimilarityScorer,
    LlmHallucinationScorer,
    PairwiseJudgeScorer,
)
from distillery_evaluator.services import OfflineEvaluator, RunLimits
from distillery_runtime.uow import FakeUnitOfWork

TEACHER = "gpt-4.1"
STUDENT = "ft:gpt-4o-mini-2024-07-18:clinic::good"
PROD = "ft:gpt-4o-mini-2024-07-18:clinic::prod"
SYSTEM = {"role": "system", "content": "You are the clinic's phone assistant."}

QUESTIONS = {
    "skin": ("How much is a skin check?", ["A skin check costs €90.", "A skin check takes 30 minutes."],
             "A skin check costs €90 and takes about 30 minutes."),
    "blood": ("What does a blood test cost?", ["A blood test costs €40."], "It's €40 for a blood test."),
    "monday": ("When are you open on Monday?", ["Open on Monday from 08:00 to 19:00."],
               "On Monday we're open from 08:00 to 19:00."),
    "friday": ("When are you open on Friday?", ["Open on Friday from 08:00 to 17:00."],
               "We open at 08:00 on Friday and close at 17:00."),
    "cancel": ("What if I cancel late?", ["Cancelling with less than 24 hours' notice costs €25."],
               "Cancelling with less than 24 hours' notice costs €25."),
}


def golden_items() -> list[EvalItem]:
    return [EvalItem(f"g-{key}", GOLDEN, [SYSTEM, {"role": "user", "content": q}], facts, ref)
            for key, (q, facts, ref) in QUESTIONS.items()]


def reference_for(messages: list[dict]) -> str:
    question = messages[-1]["content"]
    return next(ref for q, _, ref in QUESTIONS.values() if q == question)


def teacher_like(target: ModelTarget, messages: list[dict]) -> str:
    """Every model answers as the teacher would (the judge: always a tie)."""
    if messages[0]["content"].startswith("You are an impartial judge"):
        return '{"winner": "tie", "reason": "same facts"}'
    if messages[0]["content"].startswith("You check a phone assistant"):
        return '{"hallucinated": false, "claims": []}'
    return reference_for(messages)


def with_student(student_answer):
    """A responder where the candidate answers with ``student_answer(messages)``."""
    def respond(target: ModelTarget, messages: list[dict]):
        if target.model == STUDENT and messages[0] is SYSTEM or (
                target.model == STUDENT and messages[0].get("content") == SYSTEM["content"]):
            return student_answer(messages)
        return teacher_like(target, messages)
    return respond


def wrong_prices(messages: list[dict]) -> str:
    return reference_for(messages).replace("€90", "€75").replace("€40", "€55")


def transient_failure(status: int = 503) -> EndpointError:
    return EndpointError(f"HTTP {status}", retryable=True, status=status)


def make_evaluator(repo: FakeEvalRepository, client: FakeChatClient, tmp_path: Path, *,
                   judge: bool = True, langfuse: FakeLangfuseSink | None = None,
                   attempts: int = 3, gates: GateConfig | None = None,
                   figures: bool = False, uows: list[FakeUnitOfWork] | None = None,
                   students: dict[str, FakeChatClient] | None = None) -> OfflineEvaluator:
    """An evaluator whose every model and judge is ``client`` (an OpenAI endpoint), except
    the students of the providers in ``students``."""
    def new_uow() -> FakeUnitOfWork:
        uow = FakeUnitOfWork()
        if uows is not None:
            uows.append(uow)
        return uow

    policy = CallPolicy(attempts=attempts, backoff_s=0.0, timeout_s=2.0)
    judge_target = ModelTarget(model=TEACHER)
    scorers = [DeterministicHallucinationScorer(), EmbeddingSimilarityScorer(FakeEmbedder())]
    if judge:
        scorers += [LlmHallucinationScorer(client, judge_target, policy),
                    PairwiseJudgeScorer(client, judge_target, policy)]

    async def golden():
        return EvalSet.of(GOLDEN, golden_items())

    async def no_lines(uri: str) -> list[str]:
        raise AssertionError("no validation file in these tests")

    return OfflineEvaluator(
        new_uow=new_uow, repo_for=lambda uow: repo,
        endpoints=ChatEndpoints(teacher=client, default=client, by_provider=students or {}),
        scorers=scorers, golden=golden, read_lines=no_lines,
        cost_of=lambda model, usage: 0.001 if usage != Usage() else None,
        gates=gates or GateConfig(similarity_floor=0.5), reports_dir=tmp_path / "reports",
        limits=RunLimits(concurrency=4, policy=policy, max_failed_share=0.0),
        langfuse=langfuse, skipped_scorers=[] if judge else ["LLM judges (no judge endpoint)"],
        figures=figures)


async def queued(repo: FakeEvalRepository, request: RunRequest):
    await repo.create_run(request, None)
    return await repo.claim_run(datetime.now(UTC), timedelta(seconds=60))

"""The pluggable scorers. Each takes a batch of cases (an item, the answer to score and,
where there is one, the teacher's answer to the same item) and returns an ItemScore per
case it could score. The same scorers serve offline runs and live calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from distillery_evaluator.adapters.chat import AbstractChatClient, CallPolicy, complete_with_retries
from distillery_evaluator.adapters.embeddings import AbstractEmbedder, cosine
from distillery_evaluator.domain import judging
from distillery_evaluator.domain.evalset import EvalItem
from distillery_evaluator.domain.hallucination import Reference, check_answer
from distillery_evaluator.domain.requests import ModelTarget
from distillery_evaluator.domain.results import (
    DETERMINISTIC,
    EMBEDDING,
    JUDGE,
    LLM_HALLUCINATION,
    TEACHER,
    Answer,
    ItemScore,
)


@dataclass(frozen=True)
class ScoringCase:
    """One answer to score, with what it is compared against."""

    item: EvalItem
    answer: Answer
    teacher: Answer | None = None

    @property
    def comparable(self) -> bool:
        """A student answer with a teacher answer to compare it with."""
        return (self.answer.ok and self.answer.role != TEACHER and self.teacher is not None
                and self.teacher.ok)


class Scorer(Protocol):
    """A scorer: ``name`` is what reports and ``scorers_ran`` call it."""

    name: str

    async def score(self, cases: Sequence[ScoringCase]) -> list[ItemScore]: ...


def reference_for(case: ScoringCase) -> Reference:
    """The ground truth of a case; see EvalItem for when the system prompt counts."""
    item = case.item
    keep_system = not item.facts
    texts = [_text(m) for m in item.messages
             if keep_system or m.get("role") not in ("system", "developer")]
    if item.reference:
        texts.append(item.reference)
    elif not item.facts and case.teacher is not None and case.teacher.ok and case.answer.role != TEACHER:
        texts.append(case.teacher.text or "")
    return Reference(facts=list(item.facts), texts=texts)


def reference_text(case: ScoringCase) -> str:
    """The reference as a judge reads it: facts, then the reference answer."""
    parts = [f"- {fact}" for fact in case.item.facts]
    if case.item.reference:
        parts.append(f"Reference answer: {case.item.reference}")
    elif case.teacher is not None and case.teacher.ok and case.answer.role != TEACHER:
        parts.append(f"Reference answer: {case.teacher.text}")
    return "\n".join(parts)


def _text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


class DeterministicHallucinationScorer:
    """Claims (numbers, prices, times, dates, names, phones, codes) checked against the reference."""

    name = DETERMINISTIC

    async def score(self, cases: Sequence[ScoringCase]) -> list[ItemScore]:
        scores = []
        for case in cases:
            if not case.answer.ok:
                continue
            result = check_answer(case.answer.text or "", reference_for(case))
            scores.append(ItemScore(
                case.item.item_id, case.answer.role, self.name, result.score,
                "hallucinated" if result.hallucinated else "clean",
                {"findings": [f.describe() for f in result.findings],
                 "claims_checked": result.claims_checked}))
        return scores


class _JudgeBase:
    def __init__(self, client: AbstractChatClient, target: ModelTarget, policy: CallPolicy,
                 concurrency: int = 4) -> None:
        self.client = client
        self.target = target
        self.policy = policy
        self._limit = asyncio.Semaphore(concurrency)

    async def _ask(self, messages: list[dict]) -> str:
        async with self._limit:
            done = await complete_with_retries(self.client, self.target, messages, self.policy,
                                               temperature=0.0, max_tokens=300)
        return done.completion.content or ""


class LlmHallucinationScorer(_JudgeBase):
    """An LLM given the reference says whether the answer states anything unsupported.

    A reply that is not a verdict is an abstention (value None), not a pass; a judge
    endpoint that fails after its retries raises CallFailed and the run ends as an error.
    """

    name = LLM_HALLUCINATION

    async def score(self, cases: Sequence[ScoringCase]) -> list[ItemScore]:
        ok = [c for c in cases if c.answer.ok]
        return list(await asyncio.gather(*(self._one(c) for c in ok)))

    async def _one(self, case: ScoringCase) -> ItemScore:
        reply = await self._ask(judging.hallucination_prompt(
            case.item.messages, reference_text(case), case.answer.text or ""))
        item, role = case.item.item_id, case.answer.role
        try:
            flagged, claims = judging.parse_hallucination(reply)
        except judging.VerdictError as exc:
            return ItemScore(item, role, self.name, None, "abstained", {"reason": str(exc)})
        return ItemScore(item, role, self.name, 1.0 if flagged else 0.0,
                         "hallucinated" if flagged else "clean", {"claims": claims})


class PairwiseJudgeScorer(_JudgeBase):
    """The student's answer against the teacher's, judged in both orders."""

    name = JUDGE

    async def score(self, cases: Sequence[ScoringCase]) -> list[ItemScore]:
        comparable = [c for c in cases if c.comparable]
        return list(await asyncio.gather(*(self._one(c) for c in comparable)))

    async def _one(self, case: ScoringCase) -> ItemScore:
        assert case.teacher is not None
        student, teacher = case.answer.text or "", case.teacher.text or ""
        reference = reference_text(case)
        replies = await asyncio.gather(
            self._ask(judging.pairwise_prompt(case.item.messages, reference, student, teacher)),
            self._ask(judging.pairwise_prompt(case.item.messages, reference, teacher, student)))
        item, role = case.item.item_id, case.answer.role
        try:
            first, second = (judging.parse_pairwise(r) for r in replies)
        except judging.VerdictError as exc:
            return ItemScore(item, role, self.name, None, "abstained", {"reason": str(exc)})
        preference = judging.combine_orders(first, second)
        return ItemScore(item, role, self.name, preference, str(judging.outcome_of(preference)),
                         {"student_first": first.winner, "teacher_first": second.winner,
                          "reasons": [first.reason, second.reason]})


class EmbeddingSimilarityScorer:
    """Cosine similarity of the student's answer to the teacher's, with a local model."""

    name = EMBEDDING

    def __init__(self, embedder: AbstractEmbedder) -> None:
        self.embedder = embedder

    async def score(self, cases: Sequence[ScoringCase]) -> list[ItemScore]:
        comparable = [c for c in cases if c.comparable]
        if not comparable:
            return []
        texts = [t for c in comparable for t in (c.answer.text or "", c.teacher.text or "")]
        vectors = await self.embedder.embed(texts)
        return [ItemScore(c.item.item_id, c.answer.role, self.name,
                          round(cosine(vectors[2 * i], vectors[2 * i + 1]), 6), None,
                          {"model": self.embedder.name})
                for i, c in enumerate(comparable)]

"""Online evaluation: sampled live calls of a rollout's arms, scored like offline answers.

For a student's call the teacher is asked the same input, and the judge and the
similarity scorer compare the two; the teacher's own calls are checked for
hallucinations against their conversation. Each scored call becomes a CallScored on
``evaluations.online`` and scores on the original Langfuse trace.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from distillery_contracts.envelope import Envelope
from distillery_contracts.evaluations import CallScored, JudgeOutcome
from distillery_contracts.registry import EVALUATIONS_ONLINE
from distillery_contracts.traces import ObservationLevel, TraceCaptured
from distillery_evaluator.adapters.chat import AbstractChatClient
from distillery_evaluator.adapters.langfuse_sink import AbstractLangfuseSink, ScoreWrite
from distillery_evaluator.adapters.repository import AbstractEvalRepository, QueuedCall
from distillery_evaluator.calls import CallFailed, CallPolicy, complete_with_retries
from distillery_evaluator.domain.evalset import EvalItem, message_text
from distillery_evaluator.domain.metrics import CostFn
from distillery_evaluator.domain.requests import ModelTarget
from distillery_evaluator.domain.results import (
    DETERMINISTIC,
    EMBEDDING,
    HALLUCINATION_SCORERS,
    JUDGE,
    TEACHER,
    Answer,
    ItemScore,
    Usage,
)
from distillery_evaluator.scorers import Scorer, ScoringCase
from distillery_runtime.logs import get_logger
from distillery_runtime.uow import UnitOfWork

log = get_logger(__name__)

RepoFor = Callable[[UnitOfWork], AbstractEvalRepository]


def sampled(observation_id: str, rate: float) -> bool:
    """Deterministic sampling: a replay picks the same calls."""
    digest = hashlib.sha256(observation_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def arm_sample_rate(rate: float, arm_weight: object) -> float:
    """The sampling rate for a call served by an arm holding ``arm_weight`` percent.

    ``rate`` applies to an arm serving half of the traffic; an arm with a smaller share is
    sampled more (up to every call) and a larger one less, so every arm of a stage gathers
    scored calls at about the same pace: a 10% candidate is not starved while the 90%
    arm's evaluation cost stays bounded. Without a known weight, ``rate`` as it is.
    """
    if isinstance(arm_weight, bool) or not isinstance(arm_weight, int | float) or arm_weight <= 0:
        return rate
    return min(1.0, rate * 50.0 / float(arm_weight))


def rollout_metadata(trace: TraceCaptured) -> tuple[str, str, int] | None:
    """(rollout_id, arm, stage) the router recorded, or None for a call outside a rollout."""
    meta = trace.metadata
    rollout_id, arm = meta.get("rollout_id"), meta.get("arm")
    if not isinstance(rollout_id, str) or not rollout_id or not isinstance(arm, str) or not arm:
        return None
    stage = meta.get("stage", meta.get("stage_index", 0))
    try:
        stage_index = max(0, int(stage))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        stage_index = 0
    return rollout_id, arm, stage_index


@dataclass
class OnlineEvaluator:
    """Scores queued live calls in batches."""

    new_uow: Callable[[], UnitOfWork]
    repo_for: RepoFor
    models: AbstractChatClient
    teacher: ModelTarget
    scorers: Sequence[Scorer]
    cost_of: CostFn
    policy: CallPolicy
    attempts: int = 5
    batch: int = 16
    lease: timedelta = timedelta(seconds=120)
    langfuse: AbstractLangfuseSink | None = None

    async def score_pending(self) -> int:
        """Score one batch of queued calls; returns how many were taken."""
        async with self.new_uow() as uow:
            calls = await self.repo_for(uow).claim_calls(self.batch, datetime.now(UTC), self.lease)
            await uow.commit()
        for call in calls:
            await self._score_call(call)
        return len(calls)

    async def _score_call(self, call: QueuedCall) -> None:
        trace = TraceCaptured.model_validate(call.trace)
        meta = rollout_metadata(trace)
        assert meta is not None  # only rollout calls are queued
        rollout_id, arm, stage = meta
        item, answer = _case_of(trace, arm)
        final = call.attempts + 1 >= self.attempts
        try:
            teacher = await self._teacher_answer(item, trace, arm, answer)
            scores = await self._run_scorers(ScoringCase(item, answer, teacher))
        except CallFailed as exc:
            if not final:
                await self._defer(call, exc)
                return
            log.warning("scoring a live call without the teacher", observation=call.observation_id,
                        error=str(exc))
            teacher, scores = None, await self._run_scorers(ScoringCase(item, answer, None), local=True)
        event = self._call_scored(trace, rollout_id, arm, stage, answer, scores)
        findings = [f for s in scores for f in s.detail.get("findings", [])]
        async with self.new_uow() as uow:
            await self.repo_for(uow).finish_call(
                call, arm, event.model, event.model_dump(mode="json"),
                teacher.text if teacher else None, findings, event.scored_at)
            uow.emit(EVALUATIONS_ONLINE, event, cause=Envelope.model_validate(call.cause))
            await uow.commit()
        await self._write_back(trace, event)

    async def _teacher_answer(self, item: EvalItem, trace: TraceCaptured, arm: str,
                              answer: Answer) -> Answer | None:
        if arm == TEACHER or not answer.ok:
            return None
        done = await complete_with_retries(
            self.models, self.teacher, item.messages, self.policy, tools=item.tools,
            max_tokens=trace.model_parameters.max_tokens, temperature=trace.model_parameters.temperature)
        c = done.completion
        return Answer(item.item_id, TEACHER, self.teacher.model,
                      message_text({"content": c.content, "tool_calls": c.tool_calls}),
                      done.latency_ms, c.usage)

    async def _run_scorers(self, case: ScoringCase, local: bool = False) -> list[ItemScore]:
        scores: list[ItemScore] = []
        for scorer in self.scorers:
            if local and scorer.name != DETERMINISTIC:  # the others need the teacher or a judge
                continue
            scores.extend(await scorer.score([case]))
        return scores

    async def _defer(self, call: QueuedCall, exc: CallFailed) -> None:
        wait = timedelta(seconds=min(300.0, self.policy.backoff_s * 10 * 2 ** call.attempts))
        log.info("live call not scored yet; will retry", observation=call.observation_id,
                 attempt=call.attempts + 1, error=str(exc))
        async with self.new_uow() as uow:
            await self.repo_for(uow).defer_call(call.observation_id, call.attempts + 1,
                                                datetime.now(UTC) + wait)
            await uow.commit()

    def _call_scored(self, trace: TraceCaptured, rollout_id: str, arm: str, stage: int,
                     answer: Answer, scores: list[ItemScore]) -> CallScored:
        verdicts = [s.value for s in scores if s.scorer in HALLUCINATION_SCORERS and s.value is not None]
        judge = next((s for s in scores if s.scorer == JUDGE and s.value is not None), None)
        similarity = next((s.value for s in scores if s.scorer == EMBEDDING), None)
        cost = self.cost_of(answer.model, answer.usage) if answer.usage and trace.model else None
        return CallScored(
            observation_id=trace.observation_id, trace_id=trace.trace_id, session_id=trace.session_id,
            rollout_id=rollout_id, stage_index=stage, arm=arm, model=answer.model,
            hallucinated=any(v >= 0.5 for v in verdicts) if verdicts else None,
            hallucination_score=max(verdicts) if verdicts else None,
            judge_outcome=JudgeOutcome(judge.label) if judge else None, similarity=similarity,
            latency_ms=trace.latency_ms, time_to_first_token_ms=trace.time_to_first_token_ms,
            error=not answer.ok, cost_usd=cost, scored_at=datetime.now(UTC))

    async def _write_back(self, trace: TraceCaptured, event: CallScored) -> None:
        if self.langfuse is None:
            return
        scores = [ScoreWrite("distillery.hallucination", event.hallucination_score)
                  if event.hallucination_score is not None else None,
                  ScoreWrite("distillery.judge", str(event.judge_outcome)) if event.judge_outcome else None,
                  ScoreWrite("distillery.similarity", event.similarity)
                  if event.similarity is not None else None]
        try:
            await self.langfuse.score_trace(trace.trace_id, trace.observation_id,
                                            [s for s in scores if s is not None])
        except Exception as exc:  # the event is out; a dashboard outage must not block scoring
            log.warning("could not write live scores to Langfuse", error=repr(exc))


def _case_of(trace: TraceCaptured, arm: str) -> tuple[EvalItem, Answer]:
    messages = [m.model_dump(mode="json", exclude_none=True) for m in trace.input_messages]
    tools = [t.model_dump(mode="json", exclude_none=True) for t in trace.tools] or None
    item = EvalItem(trace.observation_id, "online", messages, [], None, tools)
    failed = trace.level is ObservationLevel.ERROR or trace.output is None
    text = message_text(trace.output.model_dump(mode="json")) if trace.output else None
    usage = _usage(trace)
    answer = Answer(trace.observation_id, arm, trace.model or "unknown", text, trace.latency_ms,
                    usage, (trace.status_message or "no answer") if failed else None)
    return item, answer


def _usage(trace: TraceCaptured) -> Usage | None:
    u = trace.usage
    if u.input_tokens is None and u.output_tokens is None:
        return None
    return Usage(u.input_tokens or 0, u.output_tokens or 0, u.cached_input_tokens or 0)


def queued_call(trace: TraceCaptured, rollout_id: str, cause: Envelope) -> QueuedCall:
    payload: dict[str, Any] = trace.model_dump(mode="json")
    return QueuedCall(trace.observation_id, rollout_id, payload, cause.model_dump(mode="json"), 0)

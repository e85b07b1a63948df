"""Live calls of a rollout: which to sample, what they are as an eval case, and the
CallScored they become. Pure; the scoring itself is a use case in services.py."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from distillery_contracts.evaluations import CallScored, JudgeOutcome
from distillery_contracts.traces import ObservationLevel, TraceCaptured
from distillery_evaluator.domain.evalset import EvalItem, message_text
from distillery_evaluator.domain.metrics import CostFn
from distillery_evaluator.domain.results import EMBEDDING, HALLUCINATION_SCORERS, JUDGE, Answer, ItemScore, Usage


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


def case_of(trace: TraceCaptured, arm: str) -> tuple[EvalItem, Answer]:
    """The call as an eval item (its input) and the answer it was served."""
    messages = [m.model_dump(mode="json", exclude_none=True) for m in trace.input_messages]
    tools = [t.model_dump(mode="json", exclude_none=True) for t in trace.tools] or None
    item = EvalItem(trace.observation_id, "online", messages, [], None, tools)
    failed = trace.level is ObservationLevel.ERROR or trace.output is None
    text = message_text(trace.output.model_dump(mode="json")) if trace.output else None
    answer = Answer(trace.observation_id, arm, trace.model or "unknown", text, trace.latency_ms,
                    _usage(trace), (trace.status_message or "no answer") if failed else None)
    return item, answer


def _usage(trace: TraceCaptured) -> Usage | None:
    u = trace.usage
    if u.input_tokens is None and u.output_tokens is None:
        return None
    return Usage(u.input_tokens or 0, u.output_tokens or 0, u.cached_input_tokens or 0)


def call_scored(trace: TraceCaptured, rollout_id: str, arm: str, stage: int, answer: Answer,
                scores: Sequence[ItemScore], cost_of: CostFn) -> CallScored:
    """The event the rollout-controller gates a stage on."""
    verdicts = [s.value for s in scores if s.scorer in HALLUCINATION_SCORERS and s.value is not None]
    judge = next((s for s in scores if s.scorer == JUDGE and s.value is not None), None)
    similarity = next((s.value for s in scores if s.scorer == EMBEDDING), None)
    cost = cost_of(answer.model, answer.usage) if answer.usage and trace.model else None
    return CallScored(
        observation_id=trace.observation_id, project_id=trace.project_id, trace_id=trace.trace_id,
        session_id=trace.session_id,
        rollout_id=rollout_id, stage_index=stage, arm=arm, model=answer.model,
        hallucinated=any(v >= 0.5 for v in verdicts) if verdicts else None,
        hallucination_score=max(verdicts) if verdicts else None,
        judge_outcome=JudgeOutcome(judge.label) if judge else None, similarity=similarity,
        latency_ms=trace.latency_ms, time_to_first_token_ms=trace.time_to_first_token_ms,
        error=not answer.ok, cost_usd=cost, scored_at=datetime.now(UTC))

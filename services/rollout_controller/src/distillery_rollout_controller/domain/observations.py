"""Production calls as the gates and the cost report see them.

A call can arrive twice: as ``TraceCaptured`` (latency, errors, token usage, from
traces.raw) and as ``CallScored`` (hallucination and judge verdicts, from
evaluations.online). Both carry the Langfuse observation id, and the store merges them
into one row, so a call is counted once whichever arrives first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from distillery_contracts.common import Usage
from distillery_contracts.evaluations import CallScored
from distillery_contracts.traces import ObservationLevel, TraceCaptured
from distillery_runtime.pricing import PriceTable, UnknownPriceError

META_ARM = "arm"
META_ROLLOUT = "rollout_id"
META_STAGE = "stage"
META_FALLBACK_FROM = "fallback_from"
META_CANCELLED = "cancelled"


@dataclass(frozen=True)
class Observation:
    """One call served under a rollout; None fields are unknown so far."""

    observation_id: str
    rollout_id: str
    stage_index: int
    arm: str
    model: str | None
    observed_at: datetime
    latency_ms: float | None = None
    error: bool | None = None
    cost_usd: float | None = None
    hallucinated: bool | None = None
    judge_outcome: str | None = None
    similarity: float | None = None
    scored: bool = False


@dataclass(frozen=True)
class TrafficSample:
    """One generation of any model, for call volume and cost per call."""

    model: str
    at: datetime
    cost_usd: float | None
    input_tokens: int
    output_tokens: int


def observation_from_score(event: CallScored) -> Observation:
    return Observation(
        observation_id=event.observation_id, rollout_id=event.rollout_id,
        stage_index=event.stage_index, arm=event.arm, model=event.model,
        observed_at=event.scored_at, latency_ms=event.latency_ms, error=event.error,
        cost_usd=event.cost_usd, hallucinated=event.hallucinated,
        judge_outcome=event.judge_outcome.value if event.judge_outcome else None,
        similarity=event.similarity, scored=True,
    )


def observation_from_trace(trace: TraceCaptured, prices: PriceTable) -> Observation | None:
    """The rollout call a trace records, or None when it is not evidence about its arm.

    Untagged traces are not rollout calls. A teacher's answer after a student failed
    (``fallback_from``) went to a call the router did not assign to the teacher, and a call
    the caller abandoned (``cancelled``) says nothing about the model: both stay out of
    the gates (the student's failure itself is recorded on the student's arm).
    """
    if META_FALLBACK_FROM in trace.metadata or trace.metadata.get(META_CANCELLED) is True:
        return None
    rollout_id = trace.metadata.get(META_ROLLOUT)
    arm = trace.metadata.get(META_ARM)
    stage = _stage(trace.metadata.get(META_STAGE))
    if not isinstance(rollout_id, str) or not rollout_id or not isinstance(arm, str) or stage is None:
        return None
    return Observation(
        observation_id=trace.observation_id, rollout_id=rollout_id, stage_index=stage, arm=arm,
        model=trace.model, observed_at=trace.start_time, latency_ms=latency_of(trace),
        error=trace.level is ObservationLevel.ERROR or trace.output is None,
        cost_usd=cost_of(trace, prices),
    )


def traffic_from_trace(trace: TraceCaptured, prices: PriceTable) -> TrafficSample | None:
    if not trace.model:
        return None
    return TrafficSample(
        model=trace.model, at=trace.start_time, cost_usd=cost_of(trace, prices),
        input_tokens=trace.usage.input_tokens or 0, output_tokens=trace.usage.output_tokens or 0,
    )


def latency_of(trace: TraceCaptured) -> float | None:
    if trace.latency_ms is not None:
        return trace.latency_ms
    if trace.end_time is not None:
        return max(0.0, (trace.end_time - trace.start_time).total_seconds() * 1000)
    return None


def cost_of(trace: TraceCaptured, prices: PriceTable) -> float | None:
    """Cost from token usage and our price table; Langfuse's own figure when we cannot."""
    if trace.model and _has_tokens(trace.usage):
        try:
            return prices.cost_of_call(trace.model, trace.usage.input_tokens or 0,
                                       trace.usage.output_tokens or 0,
                                       min(trace.usage.cached_input_tokens or 0,
                                           trace.usage.input_tokens or 0))
        except (UnknownPriceError, ValueError):
            pass
    return trace.cost.total_usd


def _has_tokens(usage: Usage) -> bool:
    return usage.input_tokens is not None or usage.output_tokens is not None


def _stage(value: object) -> int | None:
    """Stage from metadata: the SDK may have recorded it as a number or as text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def merge_observation(old: Observation, new: Observation) -> Observation:
    """One call known from two events: the trace's measurements, the newest verdicts.

    The SQL repository's upsert does the same in the database; keep the two in step.
    """
    errors = [e for e in (old.error, new.error) if e is not None]
    return Observation(
        observation_id=old.observation_id, rollout_id=old.rollout_id, stage_index=old.stage_index,
        arm=old.arm, model=old.model if old.model is not None else new.model,
        observed_at=min(old.observed_at, new.observed_at),
        latency_ms=_first(old.latency_ms, new.latency_ms),
        error=any(errors) if errors else None,
        cost_usd=_first(old.cost_usd, new.cost_usd),
        hallucinated=_first(new.hallucinated, old.hallucinated),
        judge_outcome=_first(new.judge_outcome, old.judge_outcome),
        similarity=_first(new.similarity, old.similarity),
        scored=old.scored or new.scored,
    )


def _first(a, b):  # noqa: ANN001, ANN202 - any optional value
    return a if a is not None else b

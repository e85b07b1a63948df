"""Cost accounting: what a call costs on each arm, blended at the current weights, and
what that means per month against serving everything with the teacher.

"Per call" is per model call (one generation), as in the seed platform's figures:
about $0.006 on GPT-4.1 for a turn of 1,000 input and 500 output tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from distillery_rollout_controller.domain.plan import ARM_ORDER, Weights
from distillery_runtime.pricing import PriceTable, UnknownPriceError, resolve_model

REFERENCE_TEACHER_PER_CALL_USD = 0.006
REFERENCE_HYBRID_PER_CALL_USD = 0.0018
REFERENCE_CALLS_PER_DAY = 10_000
REFERENCE_TURN_TOKENS = (1_000, 500)
DAYS_PER_MONTH = 30
MIN_SPAN_SECONDS = 60.0

Basis = Literal["observed", "estimated", "reference", "unknown"]


@dataclass(frozen=True)
class ModelTraffic:
    """Generations of one model seen on traces.raw over the look-back window."""

    model: str
    calls: int
    priced_calls: int
    cost_usd: float
    input_tokens: int
    output_tokens: int
    first_at: datetime
    last_at: datetime


class ArmCost(BaseModel):
    """Cost per call of one arm."""

    arm: str = Field(description="Arm name.")
    model: str = Field(description="Model behind the arm.")
    weight: float = Field(description="Current share of calls, in percent.")
    cost_per_call_usd: float | None = Field(description="USD per call; None when unknown.")
    basis: Basis = Field(description="observed (its own calls), estimated (traffic's token mix at "
                         "its prices), reference (the design's reference turn) or unknown.")
    calls: int = Field(description="Calls of this model observed in the window.")


class CostReport(BaseModel):
    """Blended cost at the current weights and the projection against all-teacher."""

    arms: list[ArmCost]
    blended_per_call_usd: float | None
    teacher_per_call_usd: float | None
    calls_per_day: float
    volume_basis: Literal["observed", "given", "reference"]
    monthly_cost_usd: float | None
    monthly_all_teacher_usd: float | None
    monthly_saving_usd: float | None
    saving_percent: float | None
    observed_calls: int
    reference_teacher_per_call_usd: float = REFERENCE_TEACHER_PER_CALL_USD
    reference_hybrid_per_call_usd: float = REFERENCE_HYBRID_PER_CALL_USD


def cost_report(weights: Weights, models: dict[str, str], traffic: list[ModelTraffic],
                prices: PriceTable, teacher_model: str, calls_per_day: float | None = None) -> CostReport:
    """The report for a route whose arms have ``weights`` and ``models``."""
    by_model = _by_model(traffic)
    mix = _token_mix(traffic)
    arms = [_arm_cost(arm, models[arm], weights[arm], by_model, mix, prices)
            for arm in ARM_ORDER if arm in weights]
    teacher = _arm_cost("teacher", teacher_model, 100.0, by_model, mix, prices).cost_per_call_usd
    blended = (sum(a.weight / 100 * a.cost_per_call_usd for a in arms)  # type: ignore[operator]
               if all(a.cost_per_call_usd is not None for a in arms) else None)
    volume, basis = _volume(traffic, calls_per_day)
    monthly = blended * volume * DAYS_PER_MONTH if blended is not None else None
    all_teacher = teacher * volume * DAYS_PER_MONTH if teacher is not None else None
    saving = all_teacher - monthly if monthly is not None and all_teacher is not None else None
    return CostReport(
        arms=arms, blended_per_call_usd=blended, teacher_per_call_usd=teacher,
        calls_per_day=volume, volume_basis=basis, monthly_cost_usd=monthly,
        monthly_all_teacher_usd=all_teacher, monthly_saving_usd=saving,
        saving_percent=100 * saving / all_teacher if saving is not None and all_teacher else None,
        observed_calls=sum(t.calls for t in traffic),
    )


def _arm_cost(arm: str, model: str, weight: float, by_model: dict[str, ModelTraffic],
              mix: tuple[float, float] | None, prices: PriceTable) -> ArmCost:
    seen = by_model.get(_model_key(model))
    calls = seen.calls if seen else 0
    if seen is not None and seen.priced_calls:
        return ArmCost(arm=arm, model=model, weight=weight, basis="observed", calls=calls,
                       cost_per_call_usd=seen.cost_usd / seen.priced_calls)
    tokens, basis = (mix, "estimated") if mix is not None else (REFERENCE_TURN_TOKENS, "reference")
    try:
        cost = prices.cost_of_call(model, round(tokens[0]), round(tokens[1]))
    except UnknownPriceError:
        return ArmCost(arm=arm, model=model, weight=weight, basis="unknown", calls=calls,
                       cost_per_call_usd=None)
    return ArmCost(arm=arm, model=model, weight=weight, basis=basis, calls=calls,
                   cost_per_call_usd=cost)


def _model_key(model: str) -> str:
    """Snapshots of a base model are one model here (gpt-4.1-2025-04-14 is gpt-4.1); every
    fine-tuned model is its own, since two students of one family cost alike but are not alike."""
    try:
        ref = resolve_model(model)
    except ValueError:
        return model
    return model if ref.fine_tuned else ref.family


def _by_model(traffic: list[ModelTraffic]) -> dict[str, ModelTraffic]:
    merged: dict[str, ModelTraffic] = {}
    for t in traffic:
        key = _model_key(t.model)
        known = merged.get(key)
        merged[key] = t if known is None else ModelTraffic(
            model=key, calls=known.calls + t.calls, priced_calls=known.priced_calls + t.priced_calls,
            cost_usd=known.cost_usd + t.cost_usd, input_tokens=known.input_tokens + t.input_tokens,
            output_tokens=known.output_tokens + t.output_tokens,
            first_at=min(known.first_at, t.first_at), last_at=max(known.last_at, t.last_at))
    return merged


def _token_mix(traffic: list[ModelTraffic]) -> tuple[float, float] | None:
    """Mean input and output tokens per call over all traffic: the prompts every arm sees."""
    calls = sum(t.calls for t in traffic if t.input_tokens or t.output_tokens)
    if not calls:
        return None
    return (sum(t.input_tokens for t in traffic) / calls, sum(t.output_tokens for t in traffic) / calls)


def _volume(traffic: list[ModelTraffic], given: float | None
            ) -> tuple[float, Literal["observed", "given", "reference"]]:
    if given is not None:
        if given <= 0:
            raise ValueError(f"calls per day must be positive, got {given:g}")
        return given, "given"
    calls = sum(t.calls for t in traffic)
    if calls:
        span = (max(t.last_at for t in traffic) - min(t.first_at for t in traffic)).total_seconds()
        if span >= MIN_SPAN_SECONDS:
            return calls / span * 86_400, "observed"
    return float(REFERENCE_CALLS_PER_DAY), "reference"

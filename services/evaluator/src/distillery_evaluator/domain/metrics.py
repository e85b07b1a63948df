"""Per-model figures of a run: hallucination rate with its interval, judge rates,
similarity, latency percentiles, error rate and cost per call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from distillery_contracts.common import ModelMetrics
from distillery_evaluator.domain import stats
from distillery_evaluator.domain.results import (
    EMBEDDING,
    HALLUCINATION_SCORERS,
    JUDGE,
    Answer,
    ItemScore,
    Usage,
)

CostFn = Callable[[str, Usage], float | None]
"""USD cost of one call of a model with a usage; None when no price is known."""


@dataclass
class RoleStats:
    """Everything the gates read about one model of a run."""

    role: str
    model: str
    metrics: ModelMetrics
    hallucination: stats.Proportion
    preferences: list[float] = field(default_factory=list)
    similarities: list[float] = field(default_factory=list)


def hallucination_flags(scores: Sequence[ItemScore]) -> dict[str, bool]:
    """Per item: flagged by any hallucination scorer that gave a verdict."""
    flags: dict[str, bool] = {}
    for score in scores:
        if score.scorer in HALLUCINATION_SCORERS and score.value is not None:
            flags[score.item_id] = flags.get(score.item_id, False) or score.value >= 0.5
    return flags


def role_stats(role: str, model: str, answers: Sequence[Answer], scores: Sequence[ItemScore],
               cost_of: CostFn, confidence: float = 0.95) -> RoleStats:
    """Aggregate one model's answers and scores."""
    flags = hallucination_flags(scores)
    hallucination = stats.wilson(sum(flags.values()), len(flags), confidence)
    preferences = [s.value for s in scores if s.scorer == JUDGE and s.value is not None]
    similarities = [s.value for s in scores if s.scorer == EMBEDDING and s.value is not None]
    ok = [a for a in answers if a.ok]
    latencies = [a.latency_ms for a in ok if a.latency_ms is not None]
    costs = [c for a in ok if a.usage is not None and (c := cost_of(a.model, a.usage)) is not None]
    judged = len(preferences)
    metrics = ModelMetrics(
        n=len(answers),
        hallucination_rate=hallucination.rate,
        hallucination_ci_low=hallucination.low,
        hallucination_ci_high=hallucination.high,
        win_rate=sum(p > 0 for p in preferences) / judged if judged else None,
        tie_rate=sum(p == 0 for p in preferences) / judged if judged else None,
        loss_rate=sum(p < 0 for p in preferences) / judged if judged else None,
        similarity_mean=_clamp(stats.mean(similarities)),
        latency_p50_ms=stats.percentile(latencies, 50),
        latency_p95_ms=stats.percentile(latencies, 95),
        error_rate=(len(answers) - len(ok)) / len(answers) if answers else None,
        cost_per_call_usd=stats.mean(costs),
    )
    return RoleStats(role, model, metrics, hallucination, preferences, similarities)


def _clamp(value: float | None) -> float | None:
    return None if value is None else max(-1.0, min(1.0, value))

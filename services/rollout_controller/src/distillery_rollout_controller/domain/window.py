"""What one arm did during one stage: the sample the gates read."""

from __future__ import annotations

from dataclasses import dataclass, field

from distillery_contracts.common import ModelMetrics
from distillery_runtime.stats import quantile, wilson


@dataclass
class ArmSample:
    """Counts and latencies of one arm's calls in a stage's window."""

    arm: str
    model: str | None = None
    calls: int = 0
    """Calls seen at all (traced or scored)."""
    scored: int = 0
    """Calls the evaluator scored online (CallScored)."""
    hallucination_checked: int = 0
    hallucinated: int = 0
    wins: int = 0
    ties: int = 0
    losses: int = 0
    similarity_sum: float = 0.0
    similarity_n: int = 0
    errors: int = 0
    error_known: int = 0
    cost_sum: float = 0.0
    cost_n: int = 0
    latencies: list[float] = field(default_factory=list)
    """Latencies in milliseconds, sorted ascending."""

    @property
    def judged(self) -> int:
        return self.wins + self.ties + self.losses

    def metrics(self, confidence: float = 0.95) -> ModelMetrics:
        """The arm's metrics snapshot, as recorded with each decision."""
        hallucination = (wilson(self.hallucinated, self.hallucination_checked, confidence)
                         if self.hallucination_checked else None)
        judged = self.judged
        return ModelMetrics(
            n=self.calls,
            hallucination_rate=hallucination.estimate if hallucination else None,
            hallucination_ci_low=hallucination.low if hallucination else None,
            hallucination_ci_high=hallucination.high if hallucination else None,
            win_rate=self.wins / judged if judged else None,
            tie_rate=self.ties / judged if judged else None,
            loss_rate=self.losses / judged if judged else None,
            similarity_mean=(max(-1.0, min(1.0, self.similarity_sum / self.similarity_n))
                             if self.similarity_n else None),
            latency_p50_ms=quantile(self.latencies, 0.5) if self.latencies else None,
            latency_p95_ms=quantile(self.latencies, 0.95) if self.latencies else None,
            error_rate=self.errors / self.error_known if self.error_known else None,
            cost_per_call_usd=self.cost_sum / self.cost_n if self.cost_n else None,
        )

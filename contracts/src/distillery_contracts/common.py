"""Value types shared by several streams: usage, cost, scores, gates and model metrics."""

from __future__ import annotations

import operator
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, model_validator

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
"""A proportion between 0 and 1."""

Percent = Annotated[float, Field(ge=0.0, le=100.0)]
"""A share of traffic in percent, between 0 and 100."""

Count = Annotated[int, Field(ge=0)]
"""A non-negative count."""

Usd = Annotated[float, Field(ge=0.0)]
"""An amount in US dollars."""

Millis = Annotated[float, Field(ge=0.0)]
"""A duration in milliseconds."""


class Usage(BaseModel):
    """Token usage of one generation, as the provider reported it."""

    input_tokens: Count | None = Field(
        default=None, description="Prompt tokens, cached ones included."
    )
    output_tokens: Count | None = Field(default=None, description="Completion tokens.")
    total_tokens: Count | None = Field(default=None, description="Input plus output tokens.")
    cached_input_tokens: Count | None = Field(
        default=None, description="Prompt tokens served from the provider's prompt cache."
    )


class Cost(BaseModel):
    """Cost of one generation in US dollars, as Langfuse computed it from usage and prices."""

    input_usd: Usd | None = Field(default=None, description="Cost of the input tokens.")
    output_usd: Usd | None = Field(default=None, description="Cost of the output tokens.")
    total_usd: Usd | None = Field(default=None, description="Total cost of the generation.")


class ScoreDataType(StrEnum):
    """Langfuse score data types (ScoreDataType in the Langfuse public API)."""

    NUMERIC = "NUMERIC"
    CATEGORICAL = "CATEGORICAL"
    BOOLEAN = "BOOLEAN"
    CORRECTION = "CORRECTION"
    TEXT = "TEXT"


class ScoreSource(StrEnum):
    """Who produced a Langfuse score."""

    API = "API"
    EVAL = "EVAL"
    ANNOTATION = "ANNOTATION"


class Score(BaseModel):
    """A Langfuse score attached to a generation (for example ``hallucination``)."""

    score_id: str = Field(min_length=1, description="Langfuse score id.")
    name: str = Field(min_length=1, description="Score name, e.g. 'hallucination'.")
    value: float | None = Field(
        default=None,
        description="Numeric value (NUMERIC; BOOLEAN as 0 or 1); None for CATEGORICAL or TEXT.",
    )
    string_value: str | None = Field(
        default=None,
        description="Category label or text, for CATEGORICAL, BOOLEAN and TEXT scores.",
    )
    data_type: ScoreDataType = Field(description="How to read value and string_value.")
    source: ScoreSource = Field(description="API, EVAL (an evaluator) or ANNOTATION (a person).")
    comment: str | None = Field(default=None, description="Free-text comment left with the score.")
    timestamp: AwareDatetime = Field(description="When the score was created in Langfuse.")


class Comparator(StrEnum):
    """How a gate compares its value with its threshold: ``value <comparator> threshold``."""

    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="

    def holds(self, value: float, threshold: float) -> bool:
        """Whether ``value <self> threshold`` is true."""
        return _COMPARE[self](value, threshold)


_COMPARE = {
    Comparator.LT: operator.lt,
    Comparator.LE: operator.le,
    Comparator.GT: operator.gt,
    Comparator.GE: operator.ge,
}


class GateResult(BaseModel):
    """The verdict of one quality gate, with the numbers behind it."""

    name: str = Field(
        min_length=1, description="Gate name from configuration, e.g. 'hallucination'."
    )
    metric: str = Field(
        min_length=1,
        description="Metric the gate reads, e.g. 'hallucination_rate' or 'latency_p95_ms'.",
    )
    model: str = Field(description="Model (or arm) whose metric was tested.")
    value: float | None = Field(
        description="Observed value; None when there was no data (the gate then fails)."
    )
    threshold: float = Field(
        description="Bound the value was compared with (already including any baseline margin)."
    )
    comparator: Comparator = Field(description="Passing means: value <comparator> threshold.")
    passed: bool = Field(description="Whether the gate held.")
    ci_low: float | None = Field(
        default=None, description="Lower bound of the value's confidence interval."
    )
    ci_high: float | None = Field(
        default=None, description="Upper bound of the value's confidence interval."
    )
    n: Count = Field(description="Sample size behind the value.")
    detail: str | None = Field(
        default=None, description="Human explanation, e.g. 'baseline 0.021 + margin 0.01 at 95%'."
    )


class ModelMetrics(BaseModel):
    """Quality, latency and cost of one model (or arm) over a sample of calls."""

    n: Count = Field(description="Number of calls scored.")
    hallucination_rate: Rate | None = Field(
        default=None, description="Share of answers flagged as hallucinated; None if not scored."
    )
    hallucination_ci_low: Rate | None = Field(
        default=None, description="Lower bound of its 95% CI."
    )
    hallucination_ci_high: Rate | None = Field(
        default=None, description="Upper bound of its 95% CI."
    )
    win_rate: Rate | None = Field(
        default=None, description="Share of pairwise judgements won against the teacher."
    )
    tie_rate: Rate | None = Field(
        default=None, description="Share of judgements tied with the teacher."
    )
    loss_rate: Rate | None = Field(
        default=None, description="Share of judgements lost to the teacher."
    )
    similarity_mean: float | None = Field(
        default=None, ge=-1.0, le=1.0, description="Mean cosine similarity to the teacher's answer."
    )
    latency_p50_ms: Millis | None = Field(default=None, description="Median latency.")
    latency_p95_ms: Millis | None = Field(default=None, description="95th percentile latency.")
    error_rate: Rate | None = Field(default=None, description="Share of calls that failed.")
    cost_per_call_usd: Usd | None = Field(
        default=None, description="Mean cost per call from token usage and the price table."
    )


class TimeRange(BaseModel):
    """A closed time interval."""

    start: AwareDatetime = Field(description="Start of the interval (inclusive).")
    end: AwareDatetime = Field(description="End of the interval (inclusive).")

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.end < self.start:
            raise ValueError(f"time range ends ({self.end}) before it starts ({self.start})")
        return self

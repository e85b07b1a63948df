"""What a validated training file holds: counts, token statistics and the training bill."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from distillery_dataset_builder.domain.issues import LineError
from distillery_dataset_builder.domain.limits import ModelLimits

# OpenAI's rule for the default number of epochs (cookbook "Data preparation and
# analysis for chat model fine-tuning"): aim at 3 epochs, but at least 100 and at most
# 25,000 example-passes, within 1..25 epochs.
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


def default_epochs(examples: int) -> int:
    """The epochs OpenAI picks when the job does not set ``n_epochs``."""
    if examples <= 0:
        return TARGET_EPOCHS
    if examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // examples)
    if examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // examples)
    return TARGET_EPOCHS


@dataclass(frozen=True)
class TokenStats:
    """Distribution of tokens per example; percentiles by the nearest-rank method."""

    total: int
    min: int
    max: int
    mean: float
    p50: int
    p95: int

    @classmethod
    def of(cls, counts: Sequence[int]) -> TokenStats | None:
        """Statistics of ``counts``; None when there is nothing to describe."""
        if not counts:
            return None
        ordered = sorted(counts)
        total = sum(ordered)
        return cls(
            total=total,
            min=ordered[0],
            max=ordered[-1],
            mean=total / len(ordered),
            p50=_nearest_rank(ordered, 0.50),
            p95=_nearest_rank(ordered, 0.95),
        )


def _nearest_rank(ordered: Sequence[int], fraction: float) -> int:
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass(frozen=True)
class TrainingEstimate:
    """What training on the file would bill."""

    epochs: int
    epochs_defaulted: bool
    """True when ``epochs`` comes from OpenAI's default rule rather than the caller."""
    billable_tokens: int
    """Tokens x epochs, each example capped at the model's per-example limit."""
    cost_usd: float | None
    """None when the price table has no training price for the model."""
    cost_note: str | None = None
    """Why ``cost_usd`` is missing."""


@dataclass(frozen=True)
class ValidationReport:
    """Everything ``validate_jsonl`` learnt about one file."""

    path: str
    limits: ModelLimits
    file_bytes: int
    examples: int
    """Lines holding an example (blank lines are errors, not examples)."""
    invalid_examples: int
    """Examples with at least one error."""
    error_count: int
    """All errors found, including those beyond ``errors``."""
    errors: list[LineError] = field(default_factory=list)
    """The first errors found, in file order, up to the validator's cap."""
    tokens: TokenStats | None = None
    """Over every example that is a JSON object, valid or not."""
    training: TrainingEstimate | None = None

    @property
    def is_valid(self) -> bool:
        """True when the provider should accept the file as it is."""
        return self.error_count == 0

"""What a run produces: answers of each model to each item, and the scores they got."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CANDIDATE = "candidate"
TEACHER = "teacher"
PRODUCTION = "production"
BASELINE_PREFIX = "baseline:"

DETERMINISTIC = "deterministic"
LLM_HALLUCINATION = "llm_hallucination"
JUDGE = "judge"
EMBEDDING = "embedding"
HALLUCINATION_SCORERS = (DETERMINISTIC, LLM_HALLUCINATION)


def baseline_role(model: str) -> str:
    return f"{BASELINE_PREFIX}{model}"


def is_comparison_role(role: str) -> bool:
    """The production student and explicit baselines: models the candidate must match."""
    return role == PRODUCTION or role.startswith(BASELINE_PREFIX)


@dataclass(frozen=True)
class Usage:
    """Token usage of one call, as the provider reported it."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0


@dataclass(frozen=True)
class Answer:
    """One model's answer to one item, or the error that prevented it.

    ``role`` says why the model was asked (candidate, teacher, production, or
    ``baseline:<model>``); ``text`` is the content, tool calls rendered as text.
    """

    item_id: str
    role: str
    model: str
    text: str | None
    latency_ms: float | None = None
    usage: Usage | None = None
    error: str | None = None
    attempts: int = 1
    tool_calls: list[dict[str, Any]] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ItemScore:
    """What one scorer said about one answer.

    ``value``: 1/0 for hallucination scorers, the preference in [-1, 1] for the judge,
    cosine similarity for the embedding scorer; None when the scorer abstained (its
    reason is in ``detail``).
    """

    item_id: str
    role: str
    scorer: str
    value: float | None
    label: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

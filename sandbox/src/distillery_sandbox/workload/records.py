"""What the simulated voice platform produces: calls, their generations and their scores.

Each record carries what a real platform would log to Langfuse plus ground truth
(`defects`, `hallucination`, `duplicate_of`, `pii`) that only tests and the evaluator's
golden sets may read.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from distillery_sandbox.workload.defects import Hallucination
from distillery_sandbox.workload.pii import PiiItem

MODEL_PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4.1": (2.00, 8.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-3.5-turbo": (0.50, 1.50),
}
"""(input, output) USD per 1M tokens, OpenAI's published prices, for the sandbox's costs."""


def estimate_tokens(text: str) -> int:
    """About four characters a token, the usual rule of thumb for English."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def estimate_chat_tokens(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> int:
    """Prompt tokens of a chat request: content, tool calls, per-message overhead, tools."""
    return estimate_message_tokens(messages) + estimate_tools_tokens(tools)


def estimate_tools_tokens(tools: list[dict[str, Any]]) -> int:
    return estimate_tokens(json.dumps(tools)) if tools else 0


def estimate_message_tokens(messages: list[dict[str, Any]]) -> int:
    total = 3
    for message in messages:
        total += 4 + estimate_tokens(message.get("content") or "")
        if message.get("tool_calls"):
            total += estimate_tokens(json.dumps(message["tool_calls"]))
    return total


@dataclass(frozen=True)
class Usage:
    """Token counts of one generation."""

    input_tokens: int
    output_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Cost:
    """USD cost of one generation, from `MODEL_PRICES_PER_MILLION`."""

    input: float
    output: float

    @property
    def total(self) -> float:
        return self.input + self.output

    @classmethod
    def of(cls, model: str, usage: Usage) -> Cost | None:
        prices = MODEL_PRICES_PER_MILLION.get(model)
        if prices is None:
            return None
        return cls(usage.input_tokens * prices[0] / 1e6, usage.output_tokens * prices[1] / 1e6)


@dataclass(frozen=True)
class SimulatedScore:
    """A score an online evaluator attached to a generation, some time after it ended."""

    score_id: str
    name: str
    value: float
    trace_id: str
    observation_id: str
    timestamp: datetime
    environment: str
    comment: str | None = None
    source: str = "EVAL"
    data_type: str = "NUMERIC"


@dataclass(frozen=True)
class SimulatedGeneration:
    """One LLM call of a voice call: what Langfuse records, plus ground truth.

    `messages` is the full chat sent to the model (OpenAI format) and `tools` the tools it
    was offered; `output` is the assistant message, None when the call was cut or the
    request failed. Ground truth: `expected_output` is the teacher's undamaged answer,
    `defects` names every injected defect this generation carries.
    """

    observation_id: str
    trace_id: str
    session_id: str
    user_id: str
    name: str
    trace_name: str
    index: int
    start_time: datetime
    completion_start_time: datetime | None
    end_time: datetime
    messages: tuple[dict[str, Any], ...]
    tools: tuple[dict[str, Any], ...]
    output: dict[str, Any] | None
    model: str
    model_parameters: dict[str, Any]
    usage: Usage | None
    cost: Cost | None
    level: str
    status_message: str | None
    tags: tuple[str, ...]
    metadata: dict[str, Any]
    environment: str
    prompt_name: str
    prompt_version: int
    intent: str
    defects: frozenset[str]
    expected_output: dict[str, Any]
    scores: tuple[SimulatedScore, ...] = ()
    hallucination: Hallucination | None = None

    @property
    def latency(self) -> float:
        """Seconds from request to last token (or failure)."""
        return (self.end_time - self.start_time).total_seconds()

    @property
    def time_to_first_token(self) -> float | None:
        if self.completion_start_time is None:
            return None
        return (self.completion_start_time - self.start_time).total_seconds()


@dataclass(frozen=True)
class SimulatedCall:
    """One phone call: a Langfuse trace and session whose id is the call id."""

    call_id: str
    caller_id: str
    started_at: datetime
    generations: tuple[SimulatedGeneration, ...]
    duplicate_of: str | None = None
    pii: tuple[PiiItem, ...] = ()

    @property
    def defects(self) -> frozenset[str]:
        """Every defect any of the call's generations carries."""
        return frozenset().union(*(g.defects for g in self.generations))

    @property
    def scores(self) -> tuple[SimulatedScore, ...]:
        return tuple(score for g in self.generations for score in g.scores)

"""Writing evaluation results back to Langfuse so they show on its dashboards.

Offline: each answer of a run is recorded as a generation in its own trace (environment
``evaluation``, tagged with the run), and its scores are attached to that trace. Online:
the scores go onto the original production trace and observation. Score ids are derived
from what they score, so a retried write replaces instead of duplicating.
"""

from __future__ import annotations

import abc
import asyncio
from dataclasses import dataclass, field
from typing import Any

from distillery_contracts.base import stable_hash
from distillery_runtime.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class ScoreWrite:
    """One score for Langfuse: NUMERIC values, or a CATEGORICAL label."""

    name: str
    value: float | str
    comment: str | None = None

    @property
    def data_type(self) -> str:
        return "CATEGORICAL" if isinstance(self.value, str) else "NUMERIC"


@dataclass(frozen=True)
class EvalGeneration:
    """One answer of an offline run, as recorded in Langfuse."""

    run_id: str
    item_id: str
    role: str
    model: str
    messages: list[dict[str, Any]]
    output: str | None
    usage: dict[str, int] | None
    error: str | None
    scores: list[ScoreWrite] = field(default_factory=list)

    @property
    def seed(self) -> str:
        return f"{self.run_id}:{self.item_id}:{self.role}"


class AbstractLangfuseSink(abc.ABC):
    """Where scores go; failures are logged by callers, never fail a run."""

    @abc.abstractmethod
    async def record_run(self, generations: list[EvalGeneration]) -> None: ...

    @abc.abstractmethod
    async def score_trace(self, trace_id: str, observation_id: str | None,
                          scores: list[ScoreWrite]) -> None: ...


class LangfuseSdkSink(AbstractLangfuseSink):
    """Through the ``langfuse`` SDK (5.x): generations over OTLP, scores via its batcher."""

    def __init__(self, host: str, public_key: str, secret_key: str, environment: str) -> None:
        from langfuse import Langfuse

        self._client = Langfuse(public_key=public_key, secret_key=secret_key, base_url=host,
                                environment=environment)

    @property
    def client(self) -> Any:
        """The SDK client, for reading datasets (golden sets kept in Langfuse)."""
        return self._client

    async def record_run(self, generations: list[EvalGeneration]) -> None:
        await asyncio.to_thread(self._record_run, generations)

    def _record_run(self, generations: list[EvalGeneration]) -> None:
        for gen in generations:
            trace_id = self._client.create_trace_id(seed=gen.seed)
            observation = self._client.start_observation(
                trace_context={"trace_id": trace_id}, name=f"distillery-eval:{gen.role}",
                as_type="generation", input=gen.messages, output=gen.output, model=gen.model,
                usage_details=gen.usage, level="ERROR" if gen.error else None,
                status_message=gen.error,
                metadata={"eval_run_id": gen.run_id, "item_id": gen.item_id, "role": gen.role})
            observation.end()
            for score in gen.scores:
                self._score(trace_id, None, score)
        self._client.flush()

    async def score_trace(self, trace_id: str, observation_id: str | None,
                          scores: list[ScoreWrite]) -> None:
        def write() -> None:
            for score in scores:
                self._score(trace_id, observation_id, score)
            self._client.flush()

        await asyncio.to_thread(write)

    def _score(self, trace_id: str, observation_id: str | None, score: ScoreWrite) -> None:
        self._client.create_score(
            score_id=score_id(trace_id, observation_id, score.name), trace_id=trace_id,
            observation_id=observation_id, name=score.name, value=score.value,
            data_type=score.data_type, comment=score.comment)


def score_id(trace_id: str, observation_id: str | None, name: str) -> str:
    return stable_hash("distillery-eval", trace_id, observation_id or "", name)

"""Writing evaluation results back to Langfuse so they show on its dashboards.

Offline: each answer of a run is recorded as a generation in its own trace (environment
``evaluation``, tagged with the run), and its scores are attached to that trace. Online:
the scores go onto the original production trace and observation. Trace, observation and
score ids are all derived from what they record, so a retried write (or the same run's
write-back by the instance that took it over) replaces instead of duplicating: Langfuse
upserts observations and scores by id.
"""

from __future__ import annotations

import abc
import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator

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

    @property
    def observation_id(self) -> int:
        """The OTLP span id, hence the Langfuse observation id, of this answer (never 0)."""
        return int(stable_hash("distillery-eval-observation", self.seed, length=16), 16) or 1


class ChosenSpanIds(IdGenerator):
    """Span ids the sink chooses (:meth:`choose`, for the next span this thread starts), random
    ones otherwise; OpenTelemetry offers no other way to give a span an id of our choosing."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()
        self._chosen = threading.local()

    def choose(self, span_id: int) -> None:
        self._chosen.span_id = span_id

    def generate_span_id(self) -> int:
        chosen: int | None = getattr(self._chosen, "span_id", None)
        self._chosen.span_id = None
        return chosen if chosen is not None else self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        return self._random.generate_trace_id()


SPAN_IDS = ChosenSpanIds()
"""One for the process: the SDK keeps one client (and tracer provider) per public key, so a
second sink with the same key writes through the first one's provider."""


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

        # A provider of its own: Langfuse would otherwise reuse a globally registered one and
        # ignore our span ids; the resource carries the environment as Langfuse's own would.
        provider = TracerProvider(resource=Resource.create({"langfuse.environment": environment}),
                                  id_generator=SPAN_IDS)
        self._client = Langfuse(public_key=public_key, secret_key=secret_key, base_url=host,
                                environment=environment, tracer_provider=provider)

    @property
    def client(self) -> Any:
        """The SDK client, for reading datasets (golden sets kept in Langfuse)."""
        return self._client

    async def record_run(self, generations: list[EvalGeneration]) -> None:
        await asyncio.to_thread(self._record_run, generations)

    def _record_run(self, generations: list[EvalGeneration]) -> None:
        for gen in generations:
            trace_id = self._client.create_trace_id(seed=gen.seed)
            SPAN_IDS.choose(gen.observation_id)
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

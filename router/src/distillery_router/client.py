"""Chat completions for the voice platform, routed by the rollout and recorded in Langfuse.

    router = Router()
    async with RoutingTableFollower(router, routes=["voice-agent"], base_url=CONTROLLER_URL,
                                    api_token=TOKEN, table_keys=TableKeys.load("rollout-controller.pub.json")):
        chat = RoutedChatClient(
            router,
            providers={"openai": ProviderEndpoint(api_key=KEY),
                       "azure": ProviderEndpoint(kind="azure", azure_endpoint=URL, api_key=AZ_KEY)},
            recorder=LangfuseGenerationRecorder(Langfuse()),
        )
        result = await chat.create(call_id=call.id, messages=[...], max_tokens=300)
        reply = result.completion.choices[0].message.content

Every call is recorded as a Langfuse generation whose session is the call id and whose
metadata carries ``arm``, ``rollout_id``, ``stage``, ``call_id`` and the table version,
exactly what the trace-ingester publishes and the rollout-controller's gates read. When
a student's endpoint fails, the failure is recorded on the student's arm (the error-rate
gate sees it) and the call is answered by the teacher, recorded with ``fallback_from``.

Needs the ``client`` extra: ``pip install 'distillery-router[client]'``.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from distillery_router.router import Router
from distillery_router.table import Arm, RouteTable

DEFAULT_STAGES = (10.0, 25.0, 50.0, 75.0, 90.0)
FALLBACK_ARM = "teacher"

log = logging.getLogger(__name__)


class ChatCompletions(Protocol):
    """The part of an openai client the wrapper calls: ``client.chat.completions.create``."""

    @property
    def chat(self) -> Any: ...


@dataclass(frozen=True)
class ProviderEndpoint:
    """How to reach one provider named in the routing table (``Arm.provider``)."""

    kind: Literal["openai", "azure"] = "openai"
    api_key: str | None = None
    base_url: str | None = None
    """OpenAI only: another base URL (a proxy or the local sandbox)."""
    azure_endpoint: str | None = None
    api_version: str | None = None
    timeout_s: float = 30.0
    max_retries: int = 1
    """Retries inside the SDK before the wrapper falls back to the teacher."""

    def create_client(self) -> ChatCompletions:
        try:
            import openai
        except ImportError as exc:
            raise RuntimeError("the chat wrapper needs openai: pip install 'distillery-router[client]'") from exc
        if self.kind == "azure":
            if not self.azure_endpoint or not self.api_version:
                raise ValueError("an azure provider needs azure_endpoint and api_version")
            return openai.AsyncAzureOpenAI(azure_endpoint=self.azure_endpoint, api_key=self.api_key,
                                           api_version=self.api_version, timeout=self.timeout_s,
                                           max_retries=self.max_retries)
        return openai.AsyncOpenAI(api_key=self.api_key, base_url=self.base_url, timeout=self.timeout_s,
                                  max_retries=self.max_retries)


class GenerationRecord(abc.ABC):
    """One generation being recorded; finish it exactly once."""

    @abc.abstractmethod
    def succeed(self, completion: Any) -> None: ...

    @abc.abstractmethod
    def fail(self, error: BaseException) -> None: ...

    @abc.abstractmethod
    def cancel(self) -> None:
        """The caller gave up (hung up, barged in): not the model's failure."""


class AbstractGenerationRecorder(abc.ABC):
    """Where generations are recorded (Langfuse in production, a fake in tests)."""

    @abc.abstractmethod
    def start(self, *, name: str, call_id: str, model: str, messages: Sequence[Mapping[str, Any]],
              parameters: Mapping[str, Any], metadata: Mapping[str, Any]) -> GenerationRecord: ...


class LangfuseGenerationRecorder(AbstractGenerationRecorder):
    """Records through the ``langfuse`` 5.x SDK (OpenTelemetry spans sent in the background)."""

    def __init__(self, langfuse: Any) -> None:
        self._langfuse = langfuse

    def start(self, *, name: str, call_id: str, model: str, messages: Sequence[Mapping[str, Any]],
              parameters: Mapping[str, Any], metadata: Mapping[str, Any]) -> GenerationRecord:
        from langfuse import propagate_attributes

        with propagate_attributes(session_id=call_id, trace_name=name):
            generation = self._langfuse.start_observation(
                name=name, as_type="generation", model=model, input=list(messages),
                metadata=dict(metadata), model_parameters=_scalar_parameters(parameters),
            )
        return _LangfuseGeneration(generation)


class _LangfuseGeneration(GenerationRecord):
    def __init__(self, generation: Any) -> None:
        self._generation = generation

    def succeed(self, completion: Any) -> None:
        choice = completion.choices[0] if completion.choices else None
        output = choice.message.model_dump(exclude_none=True) if choice is not None else None
        usage = completion.usage
        details = None
        if usage is not None:
            details = {"input": usage.prompt_tokens, "output": usage.completion_tokens}
            cached = getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", None)
            if cached:
                details["input_cached_tokens"] = cached
        self._generation.update(output=output, usage_details=details,
                                metadata={"finish_reason": choice.finish_reason} if choice else None)
        self._generation.end()

    def fail(self, error: BaseException) -> None:
        self._generation.update(level="ERROR", status_message=f"{type(error).__name__}: {error}"[:1000])
        self._generation.end()

    def cancel(self) -> None:
        self._generation.update(level="WARNING", status_message="cancelled by the caller",
                                metadata={"cancelled": True})
        self._generation.end()


@dataclass(frozen=True)
class RoutedCompletion:
    """A completion with where it came from."""

    completion: Any
    """The openai ``ChatCompletion``."""
    arm: Arm
    """The arm that answered (the teacher after a fallback)."""
    chosen: Arm
    """The arm the router chose for the call."""
    route_version: int
    rollout_id: str | None
    stage: int | None
    fallback_error: str | None = None
    """Why the chosen arm failed, when the teacher answered instead."""

    @property
    def fell_back(self) -> bool:
        return self.fallback_error is not None


@dataclass
class RoutedChatClient:
    """Routes each call by ``router.choose(route, call_id)`` and records what was served.

    ``providers`` maps the provider names in the routing table to endpoints;
    ``stages`` is the rollout plan (candidate share per stage), from which the stage of
    a table is known: the controller's tables carry the candidate's share, not the index.
    """

    router: Router
    providers: Mapping[str, ProviderEndpoint]
    recorder: AbstractGenerationRecorder
    route: str = "voice-agent"
    stages: Sequence[float] = DEFAULT_STAGES
    fallback_arm: str = FALLBACK_ARM
    client_factory: Callable[[ProviderEndpoint], ChatCompletions] = ProviderEndpoint.create_client
    fallback_on: tuple[type[BaseException], ...] | None = None
    """Errors that send a call to the teacher; default: every ``openai.OpenAIError``."""
    _clients: dict[str, ChatCompletions] = field(default_factory=dict, init=False, repr=False)
    _warned_version: int | None = field(default=None, init=False, repr=False)

    async def create(self, *, call_id: str, messages: Sequence[Mapping[str, Any]],
                     **parameters: Any) -> RoutedCompletion:
        """``chat.completions.create`` on the arm the call is routed to (``model`` is set here)."""
        if "model" in parameters:
            raise TypeError("do not pass model: the routing table chooses it")
        chosen = self.router.choose(self.route, call_id)
        table = self.router.table(self.route)
        context = _CallContext(call_id, table, self.stage_of(table))
        try:
            completion = await self._call(chosen, context, messages, parameters, fallback_from=None)
            return context.result(completion, chosen, chosen)
        except self._fallback_errors() as exc:
            teacher = self._teacher(table)
            if teacher is None or teacher.name == chosen.name:
                raise
            log.warning("arm %s failed for call %s (%r); answering with %s", chosen.name, call_id, exc,
                        teacher.name)
            completion = await self._call(teacher, context, messages, parameters, fallback_from=chosen)
            return context.result(completion, teacher, chosen, fallback_error=f"{type(exc).__name__}: {exc}")

    def stage_of(self, table: RouteTable | None) -> int | None:
        """Index of the rollout stage a table sets, from the candidate arm's share."""
        if table is None or table.rollout_id is None:
            return None
        share = next((a.weight for a in table.arms if a.name == "candidate"), None)
        if share is None:
            return None
        stage = next((i for i, s in enumerate(self.stages) if abs(s - share) < 1e-6), None)
        if stage is None and self._warned_version != table.version:
            self._warned_version = table.version
            log.warning("candidate share %g%% of table v%s is not a stage of %s; calls are recorded "
                        "without a stage and the rollout's gates will not count them: give the "
                        "client the controller's DISTILLERY_ROLLOUT_STAGES", share, table.version,
                        list(self.stages))
        return stage

    async def aclose(self) -> None:
        for client in self._clients.values():
            close = getattr(client, "close", None)
            if close is not None:
                await close()
        self._clients.clear()

    async def _call(self, arm: Arm, context: _CallContext, messages: Sequence[Mapping[str, Any]],
                    parameters: Mapping[str, Any], fallback_from: Arm | None) -> Any:
        metadata = context.metadata(arm, fallback_from)
        record = self.recorder.start(name=self.route, call_id=context.call_id, model=arm.model,
                                     messages=messages, parameters=parameters, metadata=metadata)
        try:
            client = self._client_for(arm)
            completion = await client.chat.completions.create(
                model=arm.deployment or arm.model, messages=list(messages), **parameters)
        except asyncio.CancelledError:
            record.cancel()
            raise
        except Exception as exc:
            record.fail(exc)
            raise
        record.succeed(completion)
        return completion

    def _client_for(self, arm: Arm) -> ChatCompletions:
        client = self._clients.get(arm.provider)
        if client is None:
            endpoint = self.providers.get(arm.provider)
            if endpoint is None:
                raise UnknownProvider(arm.provider, self.providers)
            client = self._clients[arm.provider] = self.client_factory(endpoint)
        return client

    def _teacher(self, table: RouteTable | None) -> Arm | None:
        if table is None:
            return None
        return next((a for a in table.arms if a.name == self.fallback_arm), None)

    def _fallback_errors(self) -> tuple[type[BaseException], ...]:
        if self.fallback_on is not None:
            return self.fallback_on
        import openai

        return (openai.OpenAIError, UnknownProvider)


class UnknownProvider(LookupError):
    """The routing table names a provider this client has no endpoint for."""

    def __init__(self, provider: str, known: Mapping[str, Any]) -> None:
        super().__init__(f"no endpoint configured for provider {provider!r}; configured: {sorted(known)}")


@dataclass(frozen=True)
class _CallContext:
    call_id: str
    table: RouteTable | None
    stage: int | None

    def metadata(self, arm: Arm, fallback_from: Arm | None) -> dict[str, Any]:
        metadata: dict[str, Any] = {"arm": arm.name, "arm_weight": arm.weight, "call_id": self.call_id,
                                    "provider": arm.provider}
        if self.table is not None:
            metadata["route_version"] = self.table.version
            if self.table.rollout_id is not None:
                metadata["rollout_id"] = self.table.rollout_id
        if self.stage is not None:
            metadata["stage"] = self.stage
        if fallback_from is not None:
            metadata["fallback_from"] = fallback_from.name
        return metadata

    def result(self, completion: Any, arm: Arm, chosen: Arm, fallback_error: str | None = None
               ) -> RoutedCompletion:
        return RoutedCompletion(completion=completion, arm=arm, chosen=chosen,
                                route_version=self.table.version if self.table else 0,
                                rollout_id=self.table.rollout_id if self.table else None,
                                stage=self.stage, fallback_error=fallback_error)


def _scalar_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Langfuse keeps scalar model parameters; tools and schemas are not parameters there."""
    return {k: v for k, v in parameters.items() if isinstance(v, str | int | float | bool) or v is None}

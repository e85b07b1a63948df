"""Chat completion endpoints: OpenAI or Azure OpenAI through the ``openai`` SDK.

The SDK's own retries are off (``max_retries=0``): the evaluator retries itself
(:func:`complete_with_retries`), so that the attempts are counted, stored with each
answer, and bounded by its configuration. Errors come out as :class:`EndpointError`,
retryable or not. The fake client is in fakes.py.
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import openai

from distillery_evaluator.domain.requests import ModelTarget
from distillery_evaluator.domain.results import TEACHER, Usage
from distillery_runtime.logs import get_logger
from distillery_runtime.retry_after import retry_after_s

log = get_logger(__name__)


class EndpointError(Exception):
    """A chat completion that failed. ``retryable``: 429, 5xx, timeouts, lost connections."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Completion:
    """The assistant message a model returned, and what it cost in tokens."""

    content: str | None
    tool_calls: list[dict[str, Any]] | None = None
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None


class AbstractChatClient(abc.ABC):
    """Something that answers chat completion requests for a model."""

    @abc.abstractmethod
    async def complete(self, target: ModelTarget, messages: list[dict[str, Any]], *,
                       tools: list[dict[str, Any]] | None = None, max_tokens: int | None = None,
                       temperature: float | None = None, timeout_s: float = 30.0) -> Completion:
        """One completion; raises EndpointError on failure."""

    async def close(self) -> None:
        return None


class UnconfiguredChatClient(AbstractChatClient):
    """Stands in when no API key is set: every call fails at once, saying what to set."""

    def __init__(self, variable: str) -> None:
        self.variable = variable

    async def complete(self, target: ModelTarget, messages: list[dict[str, Any]], *,
                       tools: list[dict[str, Any]] | None = None, max_tokens: int | None = None,
                       temperature: float | None = None, timeout_s: float = 30.0) -> Completion:
        raise EndpointError(f"no model endpoint configured: set {self.variable}", retryable=False)


class OpenAIChatClient(AbstractChatClient):
    """OpenAI (``azure=False``) or Azure OpenAI: on Azure the request names the deployment."""

    def __init__(self, *, api_key: str, base_url: str | None = None, azure: bool = False,
                 azure_endpoint: str | None = None, api_version: str | None = None) -> None:
        if azure:
            self._client: Any = openai.AsyncAzureOpenAI(
                api_key=api_key, azure_endpoint=azure_endpoint, api_version=api_version,
                max_retries=0)
        else:
            self._client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0)

    async def complete(self, target: ModelTarget, messages: list[dict[str, Any]], *,
                       tools: list[dict[str, Any]] | None = None, max_tokens: int | None = None,
                       temperature: float | None = None, timeout_s: float = 30.0) -> Completion:
        kwargs: dict[str, Any] = {"model": target.served_as, "messages": messages,
                                  "timeout": timeout_s}
        if tools:
            kwargs["tools"] = tools
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        if temperature is not None:
            kwargs["temperature"] = temperature
        try:
            response = await self._client.chat.completions.create(**kwargs)
        except openai.APIStatusError as exc:
            raise _status_error(exc, target) from None
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise EndpointError(f"{target.served_as}: {type(exc).__name__}: {exc}",
                                retryable=True) from None
        return _completion(response)

    async def close(self) -> None:
        await self._client.close()


class MissingEndpoint(Exception):
    """A student trained with a provider that no configured endpoint serves."""


@dataclass(frozen=True)
class ChatEndpoints:
    """Who answers for whom: the teacher's endpoint, and each student's (the candidate, the
    production student, a baseline) by the provider it was trained with.

    A student of a provider without an endpoint of its own goes to ``default`` when that
    provider is the default endpoint's kind, or unknown (a model never seen trained); any
    other provider cannot be served here, which :meth:`for_role` says in one line before a
    run makes a single call.
    """

    teacher: AbstractChatClient
    default: AbstractChatClient
    default_kind: str = "openai"
    by_provider: Mapping[str, AbstractChatClient] = field(default_factory=dict)

    def for_role(self, role: str, target: ModelTarget) -> AbstractChatClient:
        if role == TEACHER:
            return self.teacher
        if target.provider in self.by_provider:
            return self.by_provider[target.provider]
        if target.provider is None or target.provider == self.default_kind:
            return self.default
        raise MissingEndpoint(
            f"{target.model} was trained with provider {target.provider!r}, which no endpoint serves "
            f"here (the default endpoint is {self.default_kind}): add it to "
            f"DISTILLERY_EVALUATOR_CANDIDATE_ENDPOINTS, e.g. "
            f'{{"{target.provider}": {{"kind": "openai", "base_url": "http://<host>:8000/v1"}}}}')


def _status_error(exc: openai.APIStatusError, target: ModelTarget) -> EndpointError:
    status = exc.status_code
    return EndpointError(f"{target.served_as}: HTTP {status}: {exc.message}",
                         retryable=status == 429 or status >= 500 or status == 408,
                         status=status, retry_after_s=retry_after_s(exc.response.headers))


def _completion(response: Any) -> Completion:
    choice = response.choices[0]
    message = choice.message
    calls = None
    if message.tool_calls:
        calls = [c.model_dump(mode="json", exclude_none=True) for c in message.tool_calls]
    usage = Usage()
    if response.usage is not None:
        details = getattr(response.usage, "prompt_tokens_details", None)
        usage = Usage(input_tokens=response.usage.prompt_tokens or 0,
                      output_tokens=response.usage.completion_tokens or 0,
                      cached_input_tokens=(getattr(details, "cached_tokens", 0) or 0) if details else 0)
    return Completion(message.content, calls, usage, choice.finish_reason)


@dataclass(frozen=True)
class CallPolicy:
    """How hard to try: ``attempts`` in all, waits doubling from ``backoff_s`` (or the
    server's Retry-After when it gives one, up to ``max_backoff_s``), and ``timeout_s``
    per request."""

    attempts: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 20.0
    timeout_s: float = 30.0


class CallFailed(Exception):
    """A call that did not succeed within its attempts; the message has the last error."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


@dataclass(frozen=True)
class TimedCompletion:
    completion: Completion
    attempts: int
    latency_ms: float
    """Latency of the attempt that succeeded, as a caller would have waited for it."""


async def complete_with_retries(client: AbstractChatClient, target: ModelTarget,
                                messages: list[dict[str, Any]], policy: CallPolicy,
                                **options: Any) -> TimedCompletion:
    """One completion, retried on 429, 5xx, timeouts and lost connections."""
    last = ""
    for attempt in range(1, policy.attempts + 1):
        started = time.perf_counter()
        wait = policy.backoff_s * 2 ** (attempt - 1)
        try:
            completion = await asyncio.wait_for(
                client.complete(target, messages, timeout_s=policy.timeout_s, **options),
                timeout=policy.timeout_s)
            return TimedCompletion(completion, attempt, (time.perf_counter() - started) * 1000)
        except EndpointError as exc:
            last = str(exc)
            if not exc.retryable:
                raise CallFailed(last, attempt) from None
            if exc.retry_after_s is not None:
                wait = exc.retry_after_s
        except TimeoutError:
            last = f"{target.served_as}: no answer within {policy.timeout_s:g}s"
        if attempt < policy.attempts:
            log.info("model call failed; retrying", model=target.served_as, attempt=attempt,
                     error=last)
            await asyncio.sleep(min(wait, policy.max_backoff_s))
    raise CallFailed(f"{last} (gave up after {policy.attempts} attempts)", policy.attempts)

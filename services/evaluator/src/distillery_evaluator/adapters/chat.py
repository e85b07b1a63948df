"""Chat completion endpoints: OpenAI or Azure OpenAI through the ``openai`` SDK, and a fake.

The SDK's own retries are off (``max_retries=0``): the evaluator retries itself, so that
the attempts are counted, stored with each answer, and bounded by its configuration.
Errors come out as :class:`EndpointError`, retryable or not.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from distillery_evaluator.domain.requests import ModelTarget
from distillery_evaluator.domain.results import Usage


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


def _status_error(exc: openai.APIStatusError, target: ModelTarget) -> EndpointError:
    status = exc.status_code
    retry_after = None
    header = exc.response.headers.get("retry-after-ms") or None
    if header:
        retry_after = float(header) / 1000
    elif exc.response.headers.get("retry-after"):
        try:
            retry_after = float(exc.response.headers["retry-after"])
        except ValueError:
            retry_after = None
    return EndpointError(f"{target.served_as}: HTTP {status}: {exc.message}",
                         retryable=status == 429 or status >= 500 or status == 408,
                         status=status, retry_after_s=retry_after)


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


Responder = Callable[[ModelTarget, list[dict[str, Any]]], "str | Completion | Exception"]


class FakeChatClient(AbstractChatClient):
    """Answers with ``responder(target, messages)``; an Exception it returns is raised.

    Records every request in ``calls`` so tests can count attempts; ``delay_s`` makes each
    call take that long (for timeouts and concurrency).
    """

    def __init__(self, responder: Responder, delay_s: float = 0.0) -> None:
        self.responder = responder
        self.delay_s = delay_s
        self.calls: list[tuple[str, list[dict[str, Any]]]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def complete(self, target: ModelTarget, messages: list[dict[str, Any]], *,
                       tools: list[dict[str, Any]] | None = None, max_tokens: int | None = None,
                       temperature: float | None = None, timeout_s: float = 30.0) -> Completion:
        self.calls.append((target.served_as, messages))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            result = self.responder(target, messages)
        finally:
            self.in_flight -= 1
        if isinstance(result, Exception):
            raise result
        if isinstance(result, Completion):
            return result
        return Completion(result, usage=Usage(input_tokens=100, output_tokens=20))

    def calls_to(self, served_as: str) -> int:
        return sum(1 for name, _ in self.calls if name == served_as)

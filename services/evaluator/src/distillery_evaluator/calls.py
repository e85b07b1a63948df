"""Calling a model with a timeout per request and bounded retries with backoff."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from distillery_evaluator.adapters.chat import AbstractChatClient, Completion, EndpointError
from distillery_evaluator.domain.requests import ModelTarget
from distillery_runtime.logs import get_logger

log = get_logger(__name__)


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

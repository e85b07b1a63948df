"""Chat completions: reading the request, asking a brain, and shaping the answer as
`chat.completion` (or a stream of `chat.completion.chunk`), with usage and latency."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Iterator

from distillery_sandbox.openai.chat_models import ChatModel, draw
from distillery_sandbox.openai.config import LatencyProfile
from distillery_sandbox.openai.errors import bad_request
from distillery_sandbox.openai.files import new_id
from distillery_sandbox.workload.records import estimate_chat_tokens, estimate_tokens

ROLES = ("system", "developer", "user", "assistant", "tool", "function")


@dataclass(frozen=True)
class ChatRequest:
    """The parts of a chat request the sandbox acts on."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    use_tools: bool
    max_tokens: int | None
    n: int
    stream: bool
    include_usage: bool


@dataclass(frozen=True)
class Completion:
    """One answer: the assistant message, why it stopped, and token usage."""

    message: dict[str, Any]
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int

    def usage(self) -> dict[str, Any]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0,
                                              "rejected_prediction_tokens": 0}}


def read_chat_request(body: Any) -> ChatRequest:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("'messages' must be a non-empty array of messages.", "messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise bad_request(f"Invalid value for 'messages[{index}].role': expected one of "
                              f"{', '.join(ROLES)}.", f"messages[{index}].role")
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise bad_request("'tools' must be an array of function tools.", "tools")
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise bad_request("'max_tokens' must be a positive integer.", "max_tokens")
    n = body.get("n") or 1
    if not isinstance(n, int) or not 1 <= n <= 8:
        raise bad_request("'n' must be an integer from 1 to 8.", "n")
    options = body.get("stream_options") or {}
    return ChatRequest(
        messages=messages, tools=tools, use_tools=bool(tools) and body.get("tool_choice") != "none",
        max_tokens=limit, n=n, stream=bool(body.get("stream")),
        include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
    )


def complete(brain: ChatModel, model_id: str, request: ChatRequest) -> Completion:
    """Ask the brain and apply the request's limits (a reply longer than max_tokens is cut
    and finishes with "length")."""
    message = dict(brain.reply(request.messages, use_tools=request.use_tools, model_id=model_id))
    tokens = _output_tokens(message)
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    if request.max_tokens is not None and tokens > request.max_tokens:
        text = message.get("content") or ""
        message = {"role": "assistant", "content": text[: request.max_tokens * 4]}
        tokens, finish = request.max_tokens, "length"
    prompt = estimate_chat_tokens(request.messages, request.tools)
    return Completion(message, finish, prompt, tokens)


def latency_seconds(profile: LatencyProfile, kind: str, model_id: str,
                    messages: list[dict[str, Any]]) -> float:
    """Log-normal around the kind's median; the same request always takes as long."""
    median = profile.median_seconds(kind)
    if median <= 0:
        return 0.0
    u = min(max(draw(model_id, messages, "latency"), 1e-9), 1 - 1e-9)
    return median * math.exp(profile.spread * NormalDist().inv_cdf(u))


def completion_body(completion: Completion, model: str, n: int) -> dict[str, Any]:
    choice = {"index": 0, "message": response_message(completion.message), "logprobs": None,
              "finish_reason": completion.finish_reason}
    return {
        "id": new_id("chatcmpl-", False), "object": "chat.completion",
        "created": int(time.time()), "model": model, "service_tier": "default",
        "system_fingerprint": "fp_sandbox",
        "choices": [{**choice, "index": i} for i in range(n)],
        "usage": completion.usage(),
    }


def response_message(message: dict[str, Any]) -> dict[str, Any]:
    shaped = {"role": "assistant", "content": message.get("content"), "refusal": None,
              "annotations": []}
    if message.get("tool_calls"):
        shaped["tool_calls"] = message["tool_calls"]
    return shaped


def stream_chunks(completion: Completion, model: str, include_usage: bool) -> Iterator[dict[str, Any]]:
    """The answer as chunks: role, content a few words at a time or the tool calls, the
    finish reason, then (when asked) a usage chunk with no choices."""
    head = {"id": new_id("chatcmpl-", False), "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model, "system_fingerprint": "fp_sandbox"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                     "finish_reason": finish}]}

    yield chunk({"role": "assistant", "content": ""})
    calls = completion.message.get("tool_calls")
    if calls:
        yield chunk({"tool_calls": [{"index": i, **call} for i, call in enumerate(calls)]})
    words = (completion.message.get("content") or "").split(" ")
    for start in range(0, len(words) if words != [""] else 0, 4):
        piece = " ".join(words[start:start + 4])
        yield chunk({"content": piece if start == 0 else " " + piece})
    yield chunk({}, completion.finish_reason)
    if include_usage:
        yield {**head, "choices": [], "usage": completion.usage()}


def _output_tokens(message: dict[str, Any]) -> int:
    tokens = estimate_tokens(message.get("content") or "")
    for call in message.get("tool_calls") or []:
        function = call.get("function", {})
        tokens += 8 + estimate_tokens(function.get("name", "") + function.get("arguments", ""))
    return tokens

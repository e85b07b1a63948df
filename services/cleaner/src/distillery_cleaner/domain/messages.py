"""One message, cleaned once: fine-tuning form, tokens, shingles and hash input, cached.

Turn n of a call carries turns 1..n-1 again, and every call carries the same system
prompt, so the same message reaches the cleaner many times. Everything derived from a
message alone is computed on its first appearance and looked up afterwards; an example
is then assembled from its messages' results.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from distillery_contracts.examples import RejectReason
from distillery_contracts.messages import ChatMessage, ChatRole, FineTuneMessage
from distillery_cleaner.domain.fingerprint import Fingerprinter
from distillery_cleaner.domain.lru import CACHE_ENTRIES
from distillery_cleaner.domain.pii import Counts
from distillery_cleaner.domain.text import TextCleaner
from distillery_runtime.tokens import Tokenizer

_ROLE = {ChatRole.SYSTEM: "system", ChatRole.DEVELOPER: "system", ChatRole.USER: "user",
         ChatRole.ASSISTANT: "assistant", ChatRole.TOOL: "tool"}

CallKey = tuple[str, str, str]
"""(id, function name, arguments) of one tool call."""
MessageKey = tuple[str, int, str | None, str | None, str | None, tuple[CallKey, ...]]
"""(role, weight, text, name, tool_call_id, tool calls): everything a message's cleaning reads."""


@dataclass(frozen=True, slots=True)
class CleanMessage:
    """A message in fine-tuning form with what the cleaner derived from it."""

    role: str
    message: FineTuneMessage | None
    tokens: int = 0
    characters: int = 0
    redactions: Counts = ()
    signature: bytes = b""
    """MinHash of its shingles (``Fingerprinter.signature``); b"" when it has none."""
    canonical: bytes = b""
    """Hash input: role, weight, text, name, calls; not tool call ids (minted at random)."""
    json: bytes = b""
    """``message`` as the accepted event writes it (``events.accepted_body``)."""
    tool_call_ids: tuple[str, ...] = ()
    tool_names: tuple[str, ...] = ()
    tool_call_id: str | None = None
    call_problem: str | None = None
    """What is wrong with this message's tool calls, if anything."""
    problem: tuple[RejectReason, str] | None = None
    """Why no example can contain this message, if so."""

    def as_dict(self) -> dict[str, Any]:
        assert self.message is not None
        return self.message.model_dump(exclude_none=True)


class MessageCleaner:
    """Cleans messages, each distinct one once (an LRU cache of ``cache_size`` entries)."""

    def __init__(self, text: TextCleaner, tokenizer: Tokenizer, fingerprints: Fingerprinter,
                 cache_size: int = CACHE_ENTRIES) -> None:
        self.text = text
        self.tokenizer = tokenizer
        self.fingerprints = fingerprints
        self._priming = tokenizer.count_example({"messages": []})
        self._cached = lru_cache(maxsize=cache_size)(self._clean_key)

    def prime(self, messages: Iterable[ChatMessage]) -> None:
        """Clean the texts of ``messages`` not seen before in one batch (see ``TextCleaner.prime``)."""
        self.text.prime(text for message in messages for text in _texts_of(message))

    def clean(self, message: ChatMessage, weight: int) -> CleanMessage:
        """``message`` cleaned; weight is 1 for the answer, 0 for earlier assistant turns."""
        content = message.content
        if content is not None and type(content) is not str:
            if message.has_non_text_content():
                kinds = sorted({p.type for p in content if p.type != "text"})
                return CleanMessage(_ROLE[message.role], None, problem=(
                    RejectReason.NON_TEXT_CONTENT, f"has {', '.join(kinds)} content"))
            content = message.text()
        calls = tuple((c.id, c.function.name, c.function.arguments) for c in message.tool_calls) \
            if message.tool_calls else ()
        return self._cached((_ROLE[message.role], weight, content, message.name, message.tool_call_id, calls))

    def _clean_key(self, key: MessageKey) -> CleanMessage:
        role, weight, raw_text, name, tool_call_id, raw_calls = key
        redactions: dict[str, int] = {}
        text = self._clean_text(raw_text, redactions) if raw_text is not None else ""
        calls = [(call_id, fn, self._clean_text(args, redactions)) for call_id, fn, args in raw_calls]
        if not (text or role == "tool" or (role == "assistant" and calls)):
            return CleanMessage(role, None, problem=(RejectReason.EMPTY_CONTENT, "has no text"))
        if role == "tool" and not tool_call_id:
            return CleanMessage(role, None, problem=(RejectReason.UNMAPPABLE, "has no tool_call_id"))
        out = _fine_tune_dict(role, weight, text, name, tool_call_id, calls)
        canonical = "\x1f".join([role, str(weight), text, name or "", *(f"{fn}\x1d{a}" for _, fn, a in calls)])
        message = FineTuneMessage.model_validate(out)
        return CleanMessage(
            role=role,
            message=message,
            json=message.__pydantic_serializer__.to_json(message),
            tokens=self.tokenizer.count_example({"messages": [out]}) - self._priming,
            characters=len(text) + sum(len(a) for _, _, a in calls),
            redactions=tuple(sorted(redactions.items())),
            signature=self.fingerprints.signature([out]),
            canonical=canonical.encode(),
            tool_call_ids=tuple(i for i, _, _ in calls),
            tool_names=tuple(fn for _, fn, _ in calls),
            tool_call_id=tool_call_id,
            call_problem=_call_problem(calls),
        )

    def _clean_text(self, text: str, redactions: dict[str, int]) -> str:
        cleaned, counts = self.text.clean(text)
        for kind, n in counts:
            redactions[kind] = redactions.get(kind, 0) + n
        return cleaned


def _texts_of(message: ChatMessage) -> list[str]:
    """The texts ``clean`` redacts in ``message``: its text content and tool call arguments."""
    content = message.content
    if content is not None and type(content) is not str:
        content = None if message.has_non_text_content() else message.text()
    texts = [content] if content else []
    return texts + [c.function.arguments for c in message.tool_calls or ()]


def _fine_tune_dict(role: str, weight: int, text: str, name: str | None, tool_call_id: str | None,
                    calls: list[tuple[str, str, str]]) -> dict[str, Any]:
    """The message in OpenAI's fine-tuning format (weights only on assistant messages)."""
    out: dict[str, Any] = {"role": role}
    if text or role == "tool":
        out["content"] = text  # an empty tool result is still the call's answer
    if calls:
        out["tool_calls"] = [{"id": i, "type": "function", "function": {"name": fn, "arguments": a}}
                             for i, fn, a in calls]
    if name:
        out["name"] = name
    if role == "tool":
        out["tool_call_id"] = tool_call_id
    if role == "assistant":
        out["weight"] = weight
    return out


def _call_problem(calls: list[tuple[str, str, str]]) -> str | None:
    for position, (_, _, arguments) in enumerate(calls, start=1):
        try:
            parsed = json.loads(arguments)
        except (json.JSONDecodeError, RecursionError):
            return f"tool call {position} arguments are not valid JSON"
        if not isinstance(parsed, dict):
            return f"tool call {position} arguments are not a JSON object"
    ids = [call_id for call_id, _, _ in calls]
    if len(set(ids)) != len(ids):
        return "two tool calls share an id"
    return None

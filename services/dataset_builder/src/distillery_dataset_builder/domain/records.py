"""What the store keeps of an accepted example, and which rejections withdraw one.

Retraction rule: a rejection withdraws the stored examples of its observation that the
same cleaner version and configuration produced (the cleaner changed its mind, e.g. on a
late hallucination score). A hallucination verdict withdraws the observation's examples
of every version, since the answer itself is wrong; other verdicts of a newer cleaner
(a stricter PII rule, say) leave an older version's example as it was.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from distillery_contracts.examples import ExampleAccepted, ExampleRejected, RejectReason
from distillery_contracts.messages import FineTuneMessage
from distillery_dataset_builder.domain.canonical import canonical_json, canonical_part, tools_record, training_record
from distillery_dataset_builder.domain.sketch import signature_bytes, sketch_spoken, spoken_texts
from distillery_runtime.lru import Lru
from distillery_runtime.tokens import Tokenizer


@dataclass(frozen=True)
class ExampleRecord:
    """One accepted example as stored: lineage, stratification fields, training line, sketch."""

    example_id: str
    observation_id: str
    project_id: str
    trace_id: str
    session_id: str | None
    session_key: str
    captured_at: datetime
    accepted_at: datetime
    cleaner_version: str
    config_hash: str
    source_model: str | None
    tags: list[str]
    intent: str | None
    token_count: int
    body: str
    body_bytes: int
    signature: bytes
    tokens: int
    """Tokens of the training line with ``token_encoding``, counted once, when stored."""
    token_encoding: str


def records_of(events: Sequence[ExampleAccepted], tokenizer: Tokenizer) -> list[ExampleRecord]:
    """Records for a batch of accepted examples, token-counted and sketched.

    Each example of a call repeats the turns before it, and every call the system prompt: a
    message's part of the training line, its tokens and its spoken texts are made once
    (:class:`MessageFactsCache`, one per encoding) and each record is assembled from its
    messages'. A build then only checks the stored count against the limit. The records are
    those made from each whole training record (``tests/test_records.py`` compares the two).
    """
    facts = _facts_of(tokenizer)
    # Records with the same tools share one list (tools_record): each list is counted once. The
    # list is kept with its facts, so that no later list of the batch can be given its id.
    tools_facts: dict[int, tuple[list[Any], str | None, int]] = {}
    lines, tokens, spoken = [], [], []
    for event in events:
        messages = [facts.of(message) for message in event.messages]
        tools = tools_record(event.tools) if event.tools else None
        tools_line, tools_tokens = None, 0
        if tools is not None:
            if id(tools) not in tools_facts:
                tools_facts[id(tools)] = (tools, canonical_part(tools), tokenizer.count_tools(tools))
            _, tools_line, tools_tokens = tools_facts[id(tools)]
        parts = [m.line for m in messages]
        if all(part is not None for part in parts) and (tools is None or tools_line is not None):
            line = '{"messages":[' + ",".join(parts) + "]" + (f',"tools":{tools_line}' if tools else "") + "}"
        else:  # a value msgspec may write otherwise: the whole line as json.dumps writes it
            line = canonical_json(training_record(event))
        lines.append(line)
        tokens.append(tokenizer.chat_format.reply_priming + sum(m.tokens for m in messages) + tools_tokens)
        spoken.append([text for m in messages for text in m.spoken])
    signatures = sketch_spoken(spoken)
    return [_record(e, line, sig, n, tokenizer.encoding)
            for e, line, sig, n in zip(events, lines, signatures, tokens, strict=True)]


MESSAGES_KEPT = 16_384
"""Messages whose facts are kept per encoding: a call's turns are stored together, and the
system prompt and tool results recur in every call."""

MessageKey = tuple[str, str | None, str | None, str | None, int | None, tuple[tuple[str, str, str], ...] | None]
"""Every field of a ``FineTuneMessage`` (``tests/test_records.py`` checks that none is left out)."""


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What one message adds to a record."""

    line: str | None
    """Its part of the training line (sorted JSON); None where ``json.dumps`` may write it otherwise."""
    tokens: int
    spoken: tuple[str, ...]
    """Its texts in the conversation's sketch (none for the system prompt and tool messages)."""


class MessageFactsCache:
    """The facts of each distinct message for one tokenizer, the least recently used out first.
    Records are made in worker threads: the cache is read and written under a lock."""

    def __init__(self, tokenizer: Tokenizer, size: int = MESSAGES_KEPT) -> None:
        self.tokenizer = tokenizer
        self._facts: Lru[MessageKey, MessageFacts] = Lru(size)
        self._lock = threading.Lock()

    def of(self, message: FineTuneMessage) -> MessageFacts:
        calls = tuple((c.id, c.function.name, c.function.arguments) for c in message.tool_calls) \
            if message.tool_calls is not None else None
        key = (message.role.value, message.content, message.name, message.tool_call_id, message.weight, calls)
        with self._lock:
            found = self._facts.get(key)
        if found is not None:
            return found
        dumped = message.model_dump(mode="json", exclude_none=True)
        made = MessageFacts(
            line=canonical_part(dumped),
            tokens=self.tokenizer.count_example({"messages": [dumped]}) - self.tokenizer.chat_format.reply_priming,
            spoken=tuple(spoken_texts([dumped])),
        )
        with self._lock:
            return self._facts.put(key, made)


_FACTS: dict[str, MessageFactsCache] = {}


def _facts_of(tokenizer: Tokenizer) -> MessageFactsCache:
    """The cache of ``tokenizer``'s encoding (the counts depend on nothing else)."""
    cache = _FACTS.get(tokenizer.encoding)
    if cache is None:
        cache = _FACTS.setdefault(tokenizer.encoding, MessageFactsCache(tokenizer))
    return cache


def _record(event: ExampleAccepted, line: str, signature: np.ndarray, tokens: int, encoding: str) -> ExampleRecord:
    lineage = event.lineage
    return ExampleRecord(
        example_id=event.example_id,
        observation_id=lineage.observation_id,
        project_id=lineage.project_id,
        trace_id=lineage.trace_id,
        session_id=lineage.session_id,
        session_key=lineage.partition_key(),
        captured_at=lineage.captured_at,
        accepted_at=event.accepted_at,
        cleaner_version=event.cleaner_version,
        config_hash=event.config_hash,
        source_model=lineage.model,
        tags=sorted(set(event.tags)),
        intent=event.intent,
        token_count=event.token_count,
        body=line,
        body_bytes=len(line.encode("utf-8")),
        signature=signature_bytes(signature),
        tokens=tokens,
        token_encoding=encoding,
    )


def retracts(rejection: ExampleRejected, example: ExampleRecord) -> bool:
    """Whether ``rejection`` withdraws ``example`` (see the module docstring)."""
    if rejection.lineage.observation_id != example.observation_id:
        return False
    if rejection.reason is RejectReason.HALLUCINATION:
        return True
    return (rejection.cleaner_version, rejection.config_hash) == (example.cleaner_version, example.config_hash)


def kept_for_later(rejection: ExampleRejected) -> bool:
    """Whether to remember a rejection that matched nothing yet, for an example still on its way.

    Only a hallucination verdict can overtake the acceptance it withdraws (the cleaner sends
    it later, on another topic); any other verdict is the cleaner's only one for its version.
    """
    return rejection.reason is RejectReason.HALLUCINATION

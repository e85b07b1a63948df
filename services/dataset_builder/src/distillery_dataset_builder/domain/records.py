"""What the store keeps of an accepted example, and which rejections withdraw one.

Retraction rule: a rejection withdraws the stored examples of its observation that the
same cleaner version and configuration produced (the cleaner changed its mind, e.g. on a
late hallucination score). A hallucination verdict withdraws the observation's examples
of every version, since the answer itself is wrong; other verdicts of a newer cleaner
(a stricter PII rule, say) leave an older version's example as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from distillery_contracts.examples import ExampleAccepted, ExampleRejected, RejectReason
from distillery_dataset_builder.domain.canonical import canonical_json, training_record
from distillery_dataset_builder.domain.sketch import signature_bytes, sketch_conversations
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

    Counting here, once per example, is cheap: the turns of a call arrive together, so the
    tokenizer's cache already holds the earlier turns each new example repeats. A build
    then only checks the stored count against the limit.
    """
    training = [training_record(e) for e in events]
    signatures = sketch_conversations([t["messages"] for t in training])
    tools_tokens: dict[int, int] = {}
    return [
        _record(e, canonical_json(t), sig, _tokens(t, tokenizer, tools_tokens), tokenizer.encoding)
        for e, t, sig in zip(events, training, signatures, strict=True)
    ]


def _tokens(record: dict[str, Any], tokenizer: Tokenizer, tools_tokens: dict[int, int]) -> int:
    """``tokenizer.count_example(record)``, each tools list of the batch counted once.

    Records with the same tools share one list (``training_record``), and walking a list's
    JSON schemas cost a third of making a record (three times the messages' count, whose
    texts the tokenizer caches). The lists live as long as the batch, so their ids are theirs.
    """
    tools = record.get("tools")
    if not tools:
        return tokenizer.count_example(record)
    if id(tools) not in tools_tokens:
        tools_tokens[id(tools)] = tokenizer.count_tools(tools)
    return tokenizer.count_example({"messages": record["messages"]}) + tools_tokens[id(tools)]


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

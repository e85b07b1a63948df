"""Verdicts as the events the cleaner publishes, stamped with its version and config hash."""

from __future__ import annotations

from datetime import datetime

from distillery_contracts.examples import (
    ExampleAccepted,
    ExampleRejected,
    Lineage,
    derive_rejection_id,
)
from distillery_contracts.traces import TraceCaptured
from distillery_cleaner.domain.screen import Candidate, Cleaner
from distillery_cleaner.domain.verdicts import Rejection

INTENT_TAG = "intent:"


def lineage_of(trace: TraceCaptured) -> Lineage:
    return Lineage(project_id=trace.project_id, observation_id=trace.observation_id,
                   trace_id=trace.trace_id, session_id=trace.session_id,
                   captured_at=trace.start_time, model=trace.model)


def intent_of(trace: TraceCaptured) -> str | None:
    """The call intent: metadata ``intent``, else an ``intent:<name>`` tag."""
    value = trace.metadata.get("intent")
    if isinstance(value, str) and value:
        return value
    return next((tag[len(INTENT_TAG):] for tag in trace.tags if tag.startswith(INTENT_TAG)), None)


def accepted_event(cleaner: Cleaner, candidate: Candidate, now: datetime) -> ExampleAccepted:
    """The accepted example. Built without re-validation: its messages were validated when
    first cleaned and its tools when the trace was decoded (revalidating a 20-message
    example costs more than cleaning it)."""
    trace = candidate.trace
    return ExampleAccepted.model_construct(
        example_id=candidate.example_id,
        cleaner_version=cleaner.version,
        config_hash=cleaner.config_hash,
        messages=[m.message for m in candidate.example.messages],
        tools=candidate.example.tools,
        lineage=lineage_of(trace),
        tags=trace.tags,
        intent=intent_of(trace),
        token_count=candidate.token_count,
        redactions=dict(sorted(candidate.example.redactions.items())),
        accepted_at=now,
    )


_NO_MESSAGES = b'"messages":[]'
_NO_TOOLS = b'"tools":[]'


def accepted_body(event: ExampleAccepted, candidate: Candidate) -> bytes:
    """``event``'s JSON (what ``model_dump_json`` writes), joined from the JSON its messages and
    tools list were written as when first cleaned: a call's every turn repeats the messages before
    it, and writing them again was two thirds of writing the event.

    The event is written without them and their JSON put in its place: ``"messages":[]`` and
    ``"tools":[]`` stand once in what is written, as keys of the event itself (in a string, a
    quote is escaped). ``tests/test_events.py`` checks the bytes against ``model_dump_json``'s.
    """
    skeleton = event.model_copy(update={"messages": [], "tools": []})
    written = skeleton.__pydantic_serializer__.to_json(skeleton)
    written = written.replace(_NO_TOOLS, b'"tools":' + candidate.tools_json, 1)
    messages = b",".join(m.json for m in candidate.example.messages)
    return written.replace(_NO_MESSAGES, b'"messages":[' + messages + b"]", 1)


def rejected_event(cleaner: Cleaner, lineage: Lineage, rejection: Rejection, now: datetime) -> ExampleRejected:
    return ExampleRejected(
        rejection_id=derive_rejection_id(lineage.observation_id, cleaner.version, cleaner.config_hash),
        cleaner_version=cleaner.version,
        config_hash=cleaner.config_hash,
        reason=rejection.reason,
        detail=rejection.detail,
        lineage=lineage,
        duplicate_of=rejection.duplicate_of,
        rejected_at=now,
    )

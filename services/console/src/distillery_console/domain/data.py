"""The Data page's rows: what of an example or a dead letter the console keeps, and where
each leads (its Langfuse trace, the caller it names, whether it can be republished).

Kept to what the page shows: an accepted example's messages cut to ``MAX_MESSAGE_CHARS``
each, a rejection's reason and detail, a dead letter as the runtime wrote it (its body is
already cut to the broker's limit, and republishing needs it whole).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from distillery_contracts.deadletter import DeadLettered
from distillery_contracts.envelope import REQUIRED_HEADERS
from distillery_contracts.examples import ExampleAccepted, ExampleRejected

MAX_MESSAGE_CHARS = 2_000
ACCEPTED, REJECTED = "accepted", "rejected"


@dataclass(frozen=True)
class ExampleRow:
    example_id: str
    kind: str
    """ACCEPTED or REJECTED."""
    cleaner_version: str
    reason: str | None
    detail: str | None
    project_id: str
    trace_id: str
    session_id: str | None
    observation_id: str
    messages: list[dict[str, str]] | None
    at: datetime


@dataclass(frozen=True)
class LetterRow:
    letter_id: str
    source_topic: str
    source_partition: int | None
    source_offset: int | None
    consumer_group: str | None
    error_type: str
    error_message: str
    attempts: int
    failed_at: datetime
    original_key: str | None
    original_headers: dict[str, str]
    original_value: str
    original_bytes: int | None
    session_id: str | None
    trace_id: str | None
    republished_by: str | None = None
    republished_at: datetime | None = None
    republish_reason: str | None = None

    @property
    def why_not_republishable(self) -> str | None:
        """None when the letter carries the whole message with the headers consumers need."""
        if self.original_bytes is not None:
            return "the letter keeps only the beginning of a message too large to carry whole"
        missing = [h for h in REQUIRED_HEADERS if h not in self.original_headers]
        if missing:
            return f"the message lacks the header(s) {', '.join(missing)} every consumer needs"
        return None


@dataclass(frozen=True)
class LetterGroup:
    """Dead letters of one topic and reason."""

    source_topic: str
    error_type: str
    letters: int
    republished: int


def accepted_row(example: ExampleAccepted) -> ExampleRow:
    lineage = example.lineage
    messages = [{"role": m.role.value, "content": (m.content or ("(tool call)" if m.tool_calls else ""))[:MAX_MESSAGE_CHARS]}
                for m in example.messages]
    return ExampleRow(example.example_id, ACCEPTED, example.cleaner_version, None, None, lineage.project_id,
                      lineage.trace_id, lineage.session_id, lineage.observation_id, messages, example.accepted_at)


def rejected_row(rejected: ExampleRejected) -> ExampleRow:
    lineage = rejected.lineage
    return ExampleRow(rejected.rejection_id, REJECTED, rejected.cleaner_version, rejected.reason.value,
                      rejected.detail, lineage.project_id, lineage.trace_id, lineage.session_id,
                      lineage.observation_id, None, rejected.rejected_at)


def letter_row(letter_id: str, letter: DeadLettered) -> LetterRow:
    session_id, trace_id = callers_named(letter.original_value)
    return LetterRow(letter_id, letter.source_topic, letter.partition, letter.offset, letter.consumer_group,
                     letter.error_type, letter.error_message, letter.attempts, letter.failed_at,
                     letter.original_key, dict(letter.original_headers), letter.original_value,
                     letter.original_bytes, session_id, trace_id)


def callers_named(value: str) -> tuple[str | None, str | None]:
    """The session and trace ids a message body names (at its top or in its ``lineage``), so an
    erasure finds the letter; (None, None) for a body that is not such JSON."""
    try:
        body = json.loads(value)
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    places = [body, *(body[k] for k in ("lineage", "trace") if isinstance(body.get(k), dict))]
    return _first(places, "session_id"), _first(places, "trace_id")


def trace_url(langfuse_host: str | None, project_id: str, trace_id: str) -> str | None:
    """The trace's page in Langfuse, when the console knows where Langfuse is."""
    if not langfuse_host:
        return None
    return f"{langfuse_host.rstrip('/')}/project/{quote(project_id, safe='')}/traces/{quote(trace_id, safe='')}"


def _first(places: list[dict[str, Any]], name: str) -> str | None:
    return next((str(p[name]) for p in places if isinstance(p.get(name), str) and p[name]), None)


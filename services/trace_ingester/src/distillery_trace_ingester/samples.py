"""Realistic Langfuse records in the v2/v3 API shape, for tests here and in other packages.

``sample_generation`` is what the Langfuse OpenAI integration records for one turn of
the clinic's voice agent: a system prompt, a tool call and its result, the caller's
words, and the assistant's answer, with input and output as the raw JSON strings the
v2 observations API returns.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

CHECK_AVAILABILITY = {
    "type": "function",
    "function": {
        "name": "check_availability",
        "description": "Free appointment times for a service on a weekday.",
        "parameters": {"type": "object", "properties": {"service": {"type": "string"},
                                                        "weekday": {"type": "string"}},
                       "required": ["service", "weekday"]},
    },
}

CALL_MESSAGES = [
    {"role": "system", "content": "You are the phone assistant of Liffey Health Clinic."},
    {"role": "user", "content": "Hi, can I get a blood test on Tuesday?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "check_availability",
                      "arguments": "{\"service\": \"blood_test\", \"weekday\": \"tuesday\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "{\"free\": [\"09:30\", \"11:00\"]}"},
]

ANSWER = {"role": "assistant", "content": "Yes, Tuesday at 9:30 or 11:00. Which suits you?"}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def sample_generation(n: int = 1, *, start: datetime | None = None, session: str | None = None,
                      **overrides: Any) -> dict[str, Any]:
    """One GENERATION observation as ``GET /api/public/v2/observations`` returns it."""
    begin = start or T0 + timedelta(seconds=10 * n)
    record: dict[str, Any] = {
        "id": f"obs-{n:05d}", "traceId": f"trace-{n:05d}", "type": "GENERATION",
        "projectId": "lf-project-1", "parentObservationId": None,
        "startTime": iso(begin), "endTime": iso(begin + timedelta(milliseconds=820)),
        "completionStartTime": iso(begin + timedelta(milliseconds=310)),
        "name": "agent-turn", "level": "DEFAULT", "statusMessage": None, "version": None,
        "environment": "production", "userId": "caller-00042",
        "sessionId": session or f"call-{n // 3:04d}", "isRootObservation": True,
        "input": json.dumps({"messages": CALL_MESSAGES, "tools": [CHECK_AVAILABILITY]}),
        "output": json.dumps(ANSWER),
        "metadata": {"intent": "booking", "finish_reason": "stop"},
        "providedModelName": "gpt-4.1", "internalModelId": "m-1",
        "modelParameters": {"max_tokens": "256", "temperature": "0.3"},
        "modelId": "m-1", "inputPrice": "0.000002", "outputPrice": "0.000008", "totalPrice": None,
        "usageDetails": {"input": 1012, "output": 18, "total": 1030},
        "costDetails": {"input": 0.002024, "output": 0.000144, "total": 0.002168},
        "totalCost": 0.002168, "promptId": "prompt-1", "promptName": "clinic-voice-agent",
        "promptVersion": 3, "tags": ["voice", "clinic-line"], "traceName": "clinic-call",
        "release": None,
    }
    record.update(overrides)
    return record


def sample_score(observation_id: str = "obs-00001", *, score_id: str = "score-1",
                 timestamp: datetime | None = None, **overrides: Any) -> dict[str, Any]:
    """One observation-level score as ``GET /api/public/v3/scores?fields=details,subject`` returns it."""
    record: dict[str, Any] = {
        "id": score_id, "projectId": "lf-project-1", "name": "hallucination", "value": 0.0,
        "dataType": "NUMERIC", "source": "EVAL", "timestamp": iso(timestamp or T0 + timedelta(minutes=2)),
        "environment": "production", "createdAt": iso(T0), "updatedAt": iso(T0),
        "comment": "Consistent with the knowledge base.", "configId": None, "metadata": None,
        "subject": {"kind": "observation", "id": observation_id, "traceId": "trace-00001"},
    }
    record.update(overrides)
    return record

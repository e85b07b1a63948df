"""Realistic generations of a clinic's voice line, for the cleaner's unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from distillery_contracts.common import Score
from distillery_contracts.traces import TraceCaptured, TraceScored

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TEACHER = "gpt-4.1-2025-04-14"
SYSTEM = (
    "You are the phone assistant of Liffey Health Clinic. Answer in one to three short spoken "
    "sentences.\nFacts:\n- The clinic's phone number is +353 1 555 0142.\n- A check-up costs €65."
)
TOOLS = [
    {"type": "function", "function": {
        "name": "check_availability", "description": "Free slots for a service on a weekday.",
        "parameters": {"type": "object", "properties": {"service": {"type": "string"},
                                                        "weekday": {"type": "string"}},
                       "required": ["service", "weekday"]}}},
    {"type": "function", "function": {
        "name": "book_appointment", "description": "Book a slot.",
        "parameters": {"type": "object", "properties": {"service": {"type": "string"},
                                                        "slot": {"type": "string"},
                                                        "phone": {"type": "string"}},
                       "required": ["service", "slot"]}}},
]

CALL = [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": "Hi, I'd like to book a check-up on Tuesday, please."},
    {"role": "assistant", "content": None, "tool_calls": [{
        "id": "call_a1", "type": "function",
        "function": {"name": "check_availability",
                     "arguments": '{"service": "check_up", "weekday": "tuesday"}'}}]},
    {"role": "tool", "tool_call_id": "call_a1",
     "content": '{"available": true, "slots": ["09:30", "11:00"], "doctor": "Dr. Aoife Brennan"}'},
    {"role": "assistant", "content": "Dr. Aoife Brennan is free on Tuesday at 09:30 or 11:00. Which suits you?"},
    {"role": "user", "content": "Half nine works. My mobile is 087 123 4567."},
]
ANSWER = {"role": "assistant", "content": None, "tool_calls": [{
    "id": "call_b2", "type": "function",
    "function": {"name": "book_appointment",
                 "arguments": '{"service": "check_up", "slot": "tuesday 09:30", "phone": "087 123 4567"}'}}]}


def trace(n: int = 1, *, session: str = "call-7f3a", messages: list[dict[str, Any]] | None = None,
          output: dict[str, Any] | None = ANSWER, **overrides: Any) -> TraceCaptured:
    """One generation of a voice call; ``n`` orders it in time and names its observation."""
    start = T0 + timedelta(seconds=n)
    fields: dict[str, Any] = {
        "project_id": "clinic", "observation_id": f"obs-{n:04d}", "trace_id": session,
        "session_id": session, "start_time": start, "end_time": start + timedelta(milliseconds=900),
        "model": TEACHER, "model_parameters": {"max_tokens": 256, "temperature": 0.3},
        "input_messages": CALL if messages is None else messages, "output": output, "tools": TOOLS,
        "finish_reason": "tool_calls" if output and output.get("tool_calls") else "stop",
        "usage": {"input_tokens": 900, "output_tokens": 40, "total_tokens": 940},
        "tags": ["voice", "intent:booking"], "metadata": {"intent": "booking", "channel": "voice"},
        "ingested_at": start + timedelta(minutes=2),
    }
    fields.update(overrides)
    return TraceCaptured.model_validate(fields)


def text_turn(n: int, question: str, answer: str, *, session: str, **overrides: Any) -> TraceCaptured:
    """A one-question generation: system prompt, the caller's line, the assistant's answer."""
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]
    return trace(n, session=session, messages=messages, output={"role": "assistant", "content": answer},
                 tools=[], **overrides)


def score(value: float = 1.0, name: str = "hallucination", **overrides: Any) -> Score:
    fields = {"score_id": f"sc-{name}-{value}", "name": name, "value": value, "data_type": "NUMERIC",
              "source": "EVAL", "timestamp": T0 + timedelta(minutes=5)}
    fields.update(overrides)
    return Score.model_validate(fields)


def late(observation: TraceCaptured, *scores: Score) -> TraceScored:
    return TraceScored(project_id=observation.project_id, observation_id=observation.observation_id,
                       trace_id=observation.trace_id, session_id=observation.session_id, scores=list(scores))


def traced(results: Any) -> list[tuple[Any, ...]]:
    """Findings as Presidio's decision process shows them, sorted: span, kind, score, the
    recogniser that made each and how it scored it (pattern, regex, flags, validation)."""
    return sorted((r.entity_type, r.start, r.end, r.score, sorted(r.recognition_metadata.items()),
                   sorted(vars(r.analysis_explanation).items())) for r in results)

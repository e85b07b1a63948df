"""Small, realistic events for runtime tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from distillery_contracts.messages import ChatMessage
from distillery_contracts.traces import TraceCaptured


def trace(n: int, *, session: str | None = None, fail: bool = False) -> TraceCaptured:
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC) + timedelta(seconds=n)
    return TraceCaptured(
        project_id="clinic",
        observation_id=f"obs-{n:05d}",
        trace_id=f"trace-{n:05d}",
        session_id=session or f"call-{n // 3:04d}",
        start_time=start,
        end_time=start + timedelta(milliseconds=800),
        model="gpt-4.1",
        input_messages=[
            ChatMessage(role="system", content="You are the Harbor Clinic's phone assistant."),
            ChatMessage(role="user", content=f"Can I book a check-up on day {n}?"),
        ],
        output=ChatMessage(role="assistant", content="Yes, we have a slot at 10:30. Shall I book it?"),
        metadata={"probe": "fail"} if fail else {},
        ingested_at=start + timedelta(minutes=2),
    )

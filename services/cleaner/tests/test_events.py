"""An accepted example is published as pydantic writes it, though joined from its messages' JSON."""

from __future__ import annotations

from datetime import UTC, datetime

from cleaner_samples import text_turn, trace

from distillery_cleaner.domain.events import accepted_body, accepted_event
from distillery_cleaner.domain.screen import Candidate, Cleaner

NOW = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


def test_the_joined_body_is_what_model_dump_json_writes(cleaner: Cleaner):
    generations = [
        trace(1),  # tools, tool calls, tool results, personal data redacted
        trace(2, output={"role": "assistant", "content": "Booked: Tuesday 09:30 with Dr. Brennan."}),
        text_turn(3, 'Is "tools":[] a thing? Café ☕ \\n "messages":[]', "Ça va — 九時半 works.", session="call-2"),
        text_turn(4, "Thanks, bye.", "Goodbye!", session="call-3", tags=[], metadata={}),
    ]
    for generation in generations:
        candidate = cleaner.screen(generation)
        assert isinstance(candidate, Candidate), candidate
        event = accepted_event(cleaner, candidate, NOW)
        assert accepted_body(event, candidate) == event.model_dump_json().encode()


def test_a_message_seen_before_is_written_as_it_was_the_first_time(cleaner: Cleaner):
    first, again = cleaner.screen(trace(1)), cleaner.screen(trace(2))
    assert isinstance(first, Candidate) and isinstance(again, Candidate)
    assert first.example.messages[0] is again.example.messages[0]  # the system prompt, from the cache
    event = accepted_event(cleaner, again, NOW)
    assert accepted_body(event, again) == event.model_dump_json().encode()

"""An accepted example is published as pydantic writes it, though joined from its messages' JSON."""

from __future__ import annotations

from datetime import UTC, datetime

from cleaner_samples import text_turn, trace

from distillery_contracts.envelope import Envelope
from distillery_contracts.examples import ExampleAccepted
from distillery_cleaner.adapters.memory import MemoryCleanerRepository
from distillery_cleaner.domain.events import accepted_body, accepted_event
from distillery_cleaner.domain.screen import Candidate, Cleaner
from distillery_cleaner.services import clean_and_publish
from distillery_runtime.uow import FakeUnitOfWork

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


async def test_the_cleaner_publishes_each_accepted_example_as_model_dump_json_writes_it(cleaner: Cleaner):
    uow, repo = FakeUnitOfWork(), MemoryCleanerRepository()
    generations = [trace(1), trace(2, output={"role": "assistant", "content": "Booked, see you Tuesday."}),
                   text_turn(3, "Do you open on Saturdays?", "We do, 9 to 1.", session="call-9")]
    envelopes = [Envelope.new(event_type="TraceCaptured", schema_version=1, producer="ingester/0",
                              event_id=f"clinic:{g.observation_id}") for g in generations]
    verdicts = await clean_and_publish(uow, repo, cleaner, list(zip(generations, envelopes, strict=True)), [])
    accepted = [v.event for v in verdicts if isinstance(v.event, ExampleAccepted)]
    assert len(accepted) == 3
    assert [m.payload for m in uow.pending] == [e.model_dump_json().encode() for e in accepted]

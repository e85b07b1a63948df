"""A generation becomes one fine-tuning example: normalised, redacted, answer weighted."""

from __future__ import annotations

from cleaner_samples import CALL, SYSTEM, TOOLS, text_turn, trace

from distillery_cleaner.domain.config import CleanerConfig
from distillery_cleaner.domain.events import accepted_event
from distillery_cleaner.domain.screen import Candidate, Cleaner
from distillery_cleaner.domain.text import normalise_text


def example_of(t, cleaner: Cleaner) -> list[dict]:
    candidate = cleaner.screen(t)
    assert isinstance(candidate, Candidate), candidate
    return [m.as_dict() for m in candidate.example.messages]


def test_the_answer_is_the_last_message_with_weight_one_and_earlier_turns_weight_zero(cleaner):
    messages = example_of(trace(), cleaner)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "assistant", "user", "assistant"]
    assert [m.get("weight") for m in messages if m["role"] == "assistant"] == [0, 0, 1]
    assert messages[-1]["tool_calls"][0]["function"]["name"] == "book_appointment"


def test_tool_calls_tool_results_and_tool_definitions_are_carried_over():
    cleaner = Cleaner(CleanerConfig(pii={"allow": ["Dr. Aoife Brennan"]}), "0.1.0")  # published staff
    candidate = cleaner.screen(trace())
    messages = [m.as_dict() for m in candidate.example.messages]
    assert messages[2]["tool_calls"][0]["id"] == "call_a1"
    assert messages[3] == {"role": "tool", "tool_call_id": "call_a1", "content": CALL[3]["content"]}
    assert [t.model_dump(exclude_none=True) for t in candidate.example.tools] == TOOLS


def test_the_system_prompt_is_kept_with_its_line_breaks_and_the_clinics_allowed_number():
    cleaner = Cleaner(CleanerConfig(pii={"allow": ["+353 1 555 0142"]}), "0.1.0")
    assert example_of(trace(), cleaner)[0] == {"role": "system", "content": SYSTEM}


def test_phone_numbers_are_redacted_in_messages_and_in_tool_call_arguments(cleaner):
    candidate = cleaner.screen(trace())
    messages = [m.as_dict() for m in candidate.example.messages]
    assert messages[5]["content"] == "Half nine works. My mobile is <PHONE>."
    assert '"phone": "<PHONE>"' in messages[6]["tool_calls"][0]["function"]["arguments"]
    # The clinic's own number and its doctor's name too: neither is allowed here.
    assert candidate.example.redactions == {"PHONE": 3, "PERSON": 2}


def test_whitespace_is_collapsed_and_unicode_composed():
    assert normalise_text("  Cafe\u0301  opens\t\tat   9 ") == "Café opens at 9"
    assert normalise_text("Facts:  \r\n- one \n\n\n\n- two\n") == "Facts:\n- one\n\n- two"


def test_developer_messages_become_system_messages_and_text_parts_are_joined(cleaner):
    messages = [{"role": "developer", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Are you open"},
                                             {"type": "text", "text": "on Sunday?"}]}]
    out = example_of(trace(messages=messages, output={"role": "assistant", "content": "No, we're closed on Sundays."},
                           tools=[]), cleaner)
    assert out == [{"role": "system", "content": "Be brief."},
                   {"role": "user", "content": "Are you open\non Sunday?"},
                   {"role": "assistant", "content": "No, we're closed on Sundays.", "weight": 1}]


def test_the_example_counts_its_tokens_on_the_base_model(cleaner):
    from distillery_runtime.tokens import count_example_tokens

    candidate = cleaner.screen(trace())
    assert candidate.token_count == count_example_tokens(candidate.example.as_dict(), "gpt-4o-mini")


def test_identical_conversations_hash_alike_whatever_their_tool_call_ids(cleaner):
    renamed = [dict(m) for m in CALL]
    renamed[2] = {**CALL[2], "tool_calls": [{**CALL[2]["tool_calls"][0], "id": "call_zz"}]}
    renamed[3] = {**CALL[3], "tool_call_id": "call_zz"}
    first = cleaner.screen(trace(1, session="a"))
    second = cleaner.screen(trace(2, session="b", messages=renamed))
    assert first.content_hash == second.content_hash
    assert first.example_id == second.example_id
    changed = cleaner.screen(trace(3, session="c", messages=[*CALL[:5], {"role": "user", "content": "Eleven works."}]))
    assert changed.content_hash != first.content_hash


def test_a_lone_surrogate_and_a_nul_in_a_message_become_the_replacement_character(cleaner):
    assert normalise_text("Booked \ud83d for Tuesday\x00") == "Booked \ufffd for Tuesday\ufffd"
    cut = text_turn(3, "Can I come at nine? \ud83d", "Yes\x00, see you at nine.", session="call-cut")

    candidate = cleaner.screen(cut)

    assert isinstance(candidate, Candidate), candidate
    assert [m.as_dict()["content"] for m in candidate.example.messages][1:] == [
        "Can I come at nine? \ufffd", "Yes\ufffd, see you at nine."]
    accepted_event(cleaner, candidate, cut.ingested_at).model_dump_json().encode()

"""What one training example is made of, at the edges of each rule: which messages cannot be in
one (and the reason given), how each message is written in the fine-tuning format, what is counted
of it, and what the accepted event carries about where the example came from.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cleaner_samples import SYSTEM, TOOLS, trace

from distillery_contracts.examples import RejectReason
from distillery_contracts.messages import ChatMessage
from distillery_cleaner.domain.config import CleanerConfig
from distillery_cleaner.domain.events import accepted_event, intent_of, lineage_of
from distillery_cleaner.domain.screen import Candidate, Cleaner
from distillery_cleaner.domain.verdicts import Rejection

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
HI = {"role": "user", "content": "Hello, can I book a blood test?"}
ANSWER = {"role": "assistant", "content": "Yes: Tuesday at 9:30."}


def screened(cleaner: Cleaner, *messages: dict, output: dict = ANSWER, **fields: object) -> Candidate | Rejection:
    return cleaner.screen(trace(messages=[{"role": "system", "content": SYSTEM}, *messages], output=output, **fields))


def candidate(cleaner: Cleaner, *messages: dict, **fields: object) -> Candidate:
    result = screened(cleaner, *messages, **fields)
    assert isinstance(result, Candidate), result
    return result


@pytest.mark.parametrize(("message", "reason", "detail"), [
    ({"role": "tool", "content": "free at 9:30"}, RejectReason.UNMAPPABLE, "message 3 (tool) has no tool_call_id"),
    ({"role": "user", "content": "   "}, RejectReason.EMPTY_CONTENT, "message 3 (user) has no text"),
    ({"role": "assistant", "content": ""}, RejectReason.EMPTY_CONTENT, "message 3 (assistant) has no text"),
    ({"role": "user", "content": [{"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": "u"}},
                                  {"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}]},
     RejectReason.NON_TEXT_CONTENT, "message 3 (user) has image_url, input_audio content"),
])
def test_a_message_no_example_can_hold_rejects_the_generation_with_its_place(cleaner, message, reason, detail):
    assert screened(cleaner, HI, message, HI) == Rejection(reason, detail)


def test_an_empty_tool_result_is_still_the_calls_answer_and_an_assistant_of_calls_alone_has_no_content(cleaner):
    call = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "check_availability", "arguments": '{"day": "tue"}'}}]}
    result = candidate(cleaner, HI, call, {"role": "tool", "tool_call_id": "c1", "content": ""})
    written = [m.as_dict() for m in result.example.messages]
    assert written[2] == {"role": "assistant", "weight": 0, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "check_availability", "arguments": '{"day": "tue"}'}}]}
    assert written[3] == {"role": "tool", "tool_call_id": "c1", "content": ""}


def test_a_speakers_name_is_kept(cleaner):
    result = candidate(cleaner, {**HI, "name": "front_desk"})
    assert result.example.messages[1].as_dict() == {"role": "user", "name": "front_desk", "content": HI["content"]}


def test_an_example_counts_the_characters_of_its_texts_and_tool_arguments(cleaner):
    arguments = '{"service": "blood_test", "weekday": "tuesday"}'
    call = {"role": "assistant", "content": "Let me look.", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "check_availability", "arguments": arguments}}]}
    result = candidate(cleaner, HI, call, {"role": "tool", "tool_call_id": "c1", "content": "9:30"})
    written = [m.as_dict() for m in result.example.messages]
    assert [m.get("content") for m in written[1:]] == [HI["content"], "Let me look.", "9:30", ANSWER["content"]]
    assert result.example.characters == sum(len(m["content"]) for m in written) + len(arguments)


def test_redactions_are_counted_across_a_messages_text_and_its_tool_arguments(cleaner):
    call = {"role": "assistant", "content": "Calling 087 123 4567 and 086 234 5678.", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "check_availability",
                                                      "arguments": '{"phone": "085 345 6789"}'}}]}
    result = candidate(cleaner, HI, call, {"role": "tool", "tool_call_id": "c1", "content": "ok"})
    assert result.example.redactions["PHONE"] == 1 + 3  # the clinic's number in the system prompt, and these


@pytest.mark.parametrize(("arguments", "problem"), [
    (['{"a": 1}', "{oops"], "message 3: tool call 2 arguments are not valid JSON"),
    (['{"a": 1}', "[1]"], "message 3: tool call 2 arguments are not a JSON object"),
])
def test_a_broken_tool_call_is_named_by_its_position(cleaner, arguments, problem):
    calls = [{"id": f"c{i}", "type": "function", "function": {"name": "check_availability", "arguments": a}}
             for i, a in enumerate(arguments, start=1)]
    answers = [{"role": "tool", "tool_call_id": f"c{i}", "content": "ok"} for i in range(1, len(calls) + 1)]
    result = screened(cleaner, HI, {"role": "assistant", "content": None, "tool_calls": calls}, *answers)
    assert result == Rejection(RejectReason.UNMAPPABLE, problem)


def test_two_calls_with_one_id_are_named(cleaner):
    calls = [{"id": "c1", "type": "function", "function": {"name": "check_availability", "arguments": "{}"}}] * 2
    result = screened(cleaner, HI, {"role": "assistant", "content": None, "tool_calls": calls},
                      {"role": "tool", "tool_call_id": "c1", "content": "ok"})
    assert result == Rejection(RejectReason.UNMAPPABLE, "message 3: two tool calls share an id")


def test_the_accepted_event_says_where_the_example_came_from():
    cleaner = Cleaner(CleanerConfig(), "7.1.0")
    result = candidate(cleaner, HI, tags=["voice", "intent:billing"], metadata={"intent": "booking"})
    event = accepted_event(cleaner, result, NOW)
    trace_ = result.trace
    assert (event.example_id, event.cleaner_version, event.config_hash, event.token_count, event.accepted_at) == (
        result.example_id, "7.1.0", cleaner.config_hash, result.token_count, NOW)
    assert (event.tags, event.intent) == (["voice", "intent:billing"], "booking")
    assert event.lineage == lineage_of(trace_)
    assert (event.lineage.session_id, event.lineage.model, event.lineage.captured_at) == (
        trace_.session_id, trace_.model, trace_.start_time)
    assert [t.model_dump(exclude_none=True) for t in event.tools] == TOOLS


@pytest.mark.parametrize(("metadata", "tags", "intent"), [
    ({"intent": "booking"}, ["intent:billing"], "booking"),
    ({"intent": ""}, ["voice", "intent:billing"], "billing"),
    ({"intent": 3}, ["intent:billing"], "billing"),
    ({}, ["voice"], None),
    ({}, ["intents:x", "intent:"], ""),
])
def test_the_intent_is_the_metadatas_else_the_first_intent_tag(metadata, tags, intent):
    assert intent_of(trace(tags=tags, metadata=metadata)) == intent


def test_a_message_seen_again_is_cleaned_once(cleaner):
    text = cleaner.messages.text
    text.clean("Call me on 087 555 0199.")
    text.clean("Call me on 087 555 0199.")
    assert text.misses == 1


def test_text_parts_are_primed_together_so_cleaning_them_later_analyses_nothing(cleaner):
    parts = ChatMessage.model_validate({"role": "user", "content": [{"type": "text", "text": "Hello"},
                                                                    {"type": "text", "text": "again"}]})
    image = ChatMessage.model_validate({"role": "user", "content": [{"type": "text", "text": "see this"},
                                                                    {"type": "image_url", "image_url": {"url": "u"}}]})
    cleaner.messages.prime([parts, image])
    analysed = cleaner.messages.text.misses
    assert analysed == 1  # the joined text; a message with an image is rejected whole, its text never analysed
    cleaner.messages.clean(parts, 0)
    assert cleaner.messages.text.misses == analysed


def test_an_example_line_leaves_out_what_a_tool_does_not_say():
    cleaner = Cleaner(CleanerConfig(), "7.1.0")
    line = candidate(cleaner, HI).example.as_dict()
    assert line["tools"] == TOOLS and all(None not in t["function"].values() for t in line["tools"])

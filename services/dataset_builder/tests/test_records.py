"""A stored record is made from its messages' cached parts; it is the record made whole."""

from __future__ import annotations

import numpy as np

from distillery_contracts.messages import FineTuneMessage, FunctionCall, ToolCall, ToolDefinition
from distillery_dataset_builder.domain import records
from distillery_contracts.examples import ExampleAccepted
from distillery_dataset_builder.domain.canonical import canonical_json, training_record
from distillery_dataset_builder.domain.records import MessageFactsCache, records_of
from distillery_dataset_builder.domain.sketch import conversation_text, sketch_texts
from distillery_dataset_builder.samples import synthetic_calls
from distillery_runtime.tokens import Tokenizer, tokenizer_for

TOOLS = [ToolDefinition.model_validate({"type": "function", "function": {
    "name": "book_slot", "description": "Book a slot.",
    "parameters": {"type": "object", "properties": {"when": {"type": "string", "description": "ISO time"},
                                                     "doctor": {"type": "string", "enum": ["okafor", "byrne"]}}}}})]
ODD_TOOLS = [ToolDefinition.model_validate({"type": "function", "function": {
    "name": "quote", "parameters": {"type": "object", "properties": {"fee": {"type": "number", "maximum": 1e16}}}}})]
"""``1e16``: msgspec writes it so, ``json.dumps`` as ``1e+16`` (the line is then written whole)."""


def reference_record(event: ExampleAccepted, tokenizer: Tokenizer) -> tuple[str, int, np.ndarray]:
    """What records_of should make of ``event``, the plain way: its training line, tokens and
    sketch, each from the whole training record."""
    record = training_record(event)
    return (canonical_json(record), tokenizer.count_example(record),
            sketch_texts([conversation_text(record["messages"])])[0])


def _with(event, messages, tools):
    return event.model_copy(update={"messages": [FineTuneMessage.model_validate(m) for m in messages],
                                    "tools": tools})


def varied_examples():
    """Calls of several turns, and examples with tool calls, names, the same answer trained on and
    not (weight 1 and 0), the same tool call id with other arguments, odd numbers, lone surrogates."""
    calls = list(synthetic_calls(3, turns=3))
    base = calls[0]
    call = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "book_slot", "arguments": '{"when": "09:30"}'}}]}
    other_args = {**call, "tool_calls": [{**call["tool_calls"][0], "function": {
        "name": "book_slot", "arguments": '{"when": "10:00"}'}}]}
    answer = {"role": "tool", "content": '{"booked": true}', "tool_call_id": "c1"}
    user = {"role": "user", "content": "Book me in, please.", "name": "caller"}
    return [
        *calls,
        _with(base, [user, call, answer, {"role": "assistant", "content": "Booked.", "weight": 1}], TOOLS),
        _with(base, [user, other_args, answer, {"role": "assistant", "content": "Booked.", "weight": 0},
                     {"role": "user", "content": "Thanks"}, {"role": "assistant", "content": "Bye."}], TOOLS),
        _with(base, [{**user, "name": None}, {"role": "assistant", "content": "Booked."}], ODD_TOOLS),
        _with(base, [{"role": "user", "content": "caf\u00e9 \ud800 ok"},
                     {"role": "assistant", "content": "Booked."}], []),
    ]


def test_records_are_those_made_from_each_whole_training_record_whatever_came_before():
    for encoding_model in ("gpt-4o-mini", "gpt-4-0613"):  # o200k and cl100k: one cache each
        tokenizer = tokenizer_for(encoding_model)
        events = varied_examples()
        made = records_of(events[:4], tokenizer) + records_of(events[4:], tokenizer) + records_of(events, tokenizer)
        for record, event in zip(made, events + events, strict=True):
            line, tokens, sketch = reference_record(event, tokenizer)
            assert record.body == line
            assert record.tokens == tokens
            assert np.frombuffer(record.signature, dtype="<u4").tolist() == sketch.tolist()


def test_odd_numbers_and_lone_surrogates_are_written_as_json_dumps_writes_them():
    made = records_of(varied_examples()[-2:], tokenizer_for("gpt-4o-mini"))
    assert '"maximum":1e+16' in made[0].body
    assert "\\ud800" in made[1].body and "\\u00e9" in made[1].body  # that line wholly in ASCII escapes


def test_a_message_is_known_by_every_field_it_has():
    assert set(FineTuneMessage.model_fields) == {"role", "content", "name", "tool_calls", "tool_call_id", "weight"}
    assert set(ToolCall.model_fields) == {"id", "type", "function"}  # type is always "function"
    assert set(FunctionCall.model_fields) == {"name", "arguments"}


def test_the_cache_keeps_its_most_recent_messages():
    cache = MessageFactsCache(tokenizer_for("gpt-4o-mini"), size=2)
    first, second, third = (FineTuneMessage.model_validate({"role": "user", "content": f"turn {n}"}) for n in range(3))
    kept = cache.of(first)
    cache.of(second)
    cache.of(third)
    assert cache.of(third) is cache.of(third) and cache.of(first) is not kept
    assert records.MESSAGES_KEPT >= 4_096


def test_tools_lists_written_fresh_each_time_are_never_taken_for_one_another():
    """A tools list with a null in it is dumped anew for each example (canonical.tools_record):
    each example's line and tokens are still its own tools'."""
    def with_null(name: str) -> list[ToolDefinition]:
        return [ToolDefinition.model_validate({"type": "function", "function": {
            "name": name,
            "parameters": {"type": "object", "properties": {"note": {"type": "string", "default": None}}}}})]
    base = next(synthetic_calls(1, turns=1))
    events = [_with(base, [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}],
                    with_null(f"tool_{n % 3}_{'x' * n}")) for n in range(12)]
    tokenizer = tokenizer_for("gpt-4o-mini")
    for record, event in zip(records_of(events, tokenizer), events, strict=True):
        line, tokens, _ = reference_record(event, tokenizer)
        assert (record.body, record.tokens) == (line, tokens)

"""The mapping of a Langfuse generation at its edges: every field it carries, every fallback it
takes, every shape it reads, and the one-line reason it gives for what it cannot read.

``test_mapping.py`` shows the shapes the SDKs record; here each field and rule is pinned where a
changed key, comparison or default would show. What the mapping keeps is what the cleaner, the
dataset and the evaluator see of a call: a field lost here is lost to every cycle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from distillery_trace_ingester.domain.chat import parse_input, parse_output
from distillery_trace_ingester.domain.mapping import UnmappableObservation, observation_to_trace
from distillery_trace_ingester.domain.measures import cost, elapsed_ms, model_parameters, parse_time, usage
from distillery_trace_ingester.domain import windows
from distillery_trace_ingester.domain.windows import Pacing, Window
from distillery_trace_ingester.samples import T0, sample_generation, sample_score

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def mapped(*scores: dict, **overrides: object):  # noqa: ANN201 - a TraceCaptured
    return observation_to_trace(sample_generation(1, **overrides), list(scores), "clinic", NOW)


def refused(call: Callable[[], object]) -> str:
    """The one-line reason ``call`` gives for what it cannot map."""
    with pytest.raises(UnmappableObservation) as caught:
        call()
    return caught.value.reason


def reason(**overrides: object) -> str:
    return refused(lambda: mapped(**overrides))


def test_every_field_of_a_generation_reaches_the_event():
    trace = mapped(sample_score(score_id="late", timestamp=T0 + timedelta(minutes=9)), sample_score(),
                   name="turn-7", environment="staging", userId="caller-9", sessionId="call-9",
                   statusMessage="fine", level="WARNING", promptName="voice", promptVersion=4,
                   tags=["a", "b"], metadata={"intent": "billing", "finish_reason": "length"})
    assert (trace.project_id, trace.observation_id, trace.trace_id, trace.session_id, trace.user_id) == (
        "clinic", "obs-00001", "trace-00001", "call-9", "caller-9")
    assert (trace.environment, trace.name, trace.status_message, trace.level.value) == (
        "staging", "turn-7", "fine", "WARNING")
    assert (trace.start_time, trace.end_time, trace.completion_start_time) == (
        T0 + timedelta(seconds=10), T0 + timedelta(seconds=10, milliseconds=820),
        T0 + timedelta(seconds=10, milliseconds=310))
    assert (trace.latency_ms, trace.time_to_first_token_ms) == (820.0, 310.0)
    assert (trace.model, trace.finish_reason) == ("gpt-4.1", "length")  # the metadata's, the answer has none
    assert trace.model_parameters.model_dump() == {"max_tokens": 256, "temperature": 0.3, "top_p": None,
                                                   "extra": {}}
    assert trace.usage.model_dump() == {"input_tokens": 1012, "output_tokens": 18, "total_tokens": 1030,
                                        "cached_input_tokens": None}
    assert trace.cost.model_dump() == {"input_usd": 0.002024, "output_usd": 0.000144, "total_usd": 0.002168}
    assert (trace.tags, trace.metadata) == (["a", "b"], {"intent": "billing", "finish_reason": "length"})
    assert (trace.prompt_name, trace.prompt_version, trace.ingested_at) == ("voice", 4, NOW)
    assert [s.score_id for s in trace.scores] == ["score-1", "late"]  # by time, whatever order Langfuse sent


def test_scores_at_the_same_moment_are_ordered_by_their_id():
    trace = mapped(sample_score(score_id="b"), sample_score(score_id="a"))
    assert [s.score_id for s in trace.scores] == ["a", "b"]


def test_the_model_and_the_measures_fall_back_to_what_langfuse_computed():
    trace = mapped(providedModelName=None, model="gpt-4.1-2025-04-14", endTime=None, latency=1.25,
                   completionStartTime=None, timeToFirstToken=0.4, costDetails=None, totalCost=0.5)
    assert trace.model == "gpt-4.1-2025-04-14"
    assert (trace.latency_ms, trace.time_to_first_token_ms) == (1250.0, 400.0)
    assert trace.cost.model_dump() == {"input_usd": None, "output_usd": None, "total_usd": 0.5}


@pytest.mark.parametrize(("overrides", "said"), [
    ({"id": None}, "observation has no id"),
    ({"id": ""}, "observation has no id"),
    ({"traceId": ""}, "observation has no traceId"),
    ({"startTime": None}, "startTime is missing"),
    ({"startTime": ""}, "startTime is missing"),
    ({"endTime": "soon"}, "endTime is not an ISO 8601 timestamp"),
    ({"completionStartTime": "x"}, "completionStartTime is not an ISO 8601 timestamp"),
    ({"startTime": 1700000000}, "startTime is not a timestamp"),
    ({"tags": {"a": 1}}, "tags is not a list"),
    ({"promptVersion": "third"}, "promptVersion is not a number"),
    ({"type": "EVENT"}, "observation type is EVENT, not GENERATION"),
    ({"type": "A" * 20}, f"observation type is {'A' * 20}, not GENERATION"),
    ({"type": "A" * 21}, "observation type is unknown, not GENERATION"),
    ({"type": 7}, "observation type is unknown, not GENERATION"),
    ({"usageDetails": [1]}, "usageDetails is not an object of numbers"),
    ({"costDetails": "0.1"}, "costDetails is not an object of numbers"),
    ({"modelParameters": "temperature=0.3"}, "modelParameters is text that is not a JSON object"),
    ({"modelParameters": "[0.3]"}, "modelParameters is not an object"),
])
def test_each_unreadable_field_is_named_in_one_line(overrides, said):
    assert reason(**overrides) == said


def test_a_record_that_is_no_object_is_unmappable():
    not_an_object: object = ["not", "an", "object"]
    assert refused(lambda: observation_to_trace(not_an_object, [], "clinic", NOW)) == (  # type: ignore[arg-type]
        "the record is not a JSON object")


def test_what_the_contract_refuses_is_named_as_the_generations_field():
    unnamed = [{"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "", "arguments": "{}"}}]}]
    assert reason(input=json.dumps(unnamed)) == ("generation does not fit the contract: input_messages.0.tool_calls.0"
                                                 ".function.name: String should have at least 1 character")


@pytest.mark.parametrize(("given", "kept"), [
    (1, 1), (2, 2), ("5", 5), (0, None), (-1, None), (True, None), (None, None),
])
def test_a_prompt_version_is_a_whole_number_from_one(given, kept):
    assert mapped(promptVersion=given).prompt_version == kept


@pytest.mark.parametrize(("given", "kept"), [("ab", ["ab"]), (None, []), ([1, "x"], ["1", "x"])])
def test_tags_are_a_list_of_text(given, kept):
    assert mapped(tags=given).tags == kept


def test_an_id_given_as_a_number_is_read_as_text_and_an_empty_one_as_none():
    trace = mapped(userId=42, sessionId="", environment=None)
    assert (trace.user_id, trace.session_id, trace.environment) == ("42", None, None)


# --- chat messages -------------------------------------------------------------------------


def messages_of(*items: dict) -> list[dict]:
    return parse_input(json.dumps(items))[0]


def test_a_legacy_function_call_becomes_the_one_tool_call_it_stands_for():
    [message] = messages_of({"role": "assistant", "content": None,
                             "tool_calls": [{"id": "c1", "function": {"name": "a", "arguments": "{}"}}],
                             "function_call": {"name": "book", "arguments": {"day": "mardi é"}}})
    assert message["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
        {"id": "function_call", "type": "function", "function": {"name": "book", "arguments": '{"day": "mardi é"}'}}]


def test_a_tool_call_without_arguments_has_empty_arguments_and_a_number_id_becomes_text():
    [message] = messages_of({"role": "assistant", "tool_calls": [{"id": 7, "function": {"name": "now"}}]})
    assert message["tool_calls"] == [{"id": "7", "type": "function", "function": {"name": "now", "arguments": ""}}]


@pytest.mark.parametrize(("message", "said"), [
    ({"role": "assistant", "tool_calls": {"id": "c1"}}, "input message 0 tool_calls is an object, not a list"),
    ({"role": "assistant", "tool_calls": [{"function": {"name": "a"}}]},
     "input message 0 tool call 0 lacks an id or a function"),
    ({"role": "assistant", "tool_calls": [{"id": "c1"}]}, "input message 0 tool call 0 lacks an id or a function"),
    ({"role": "assistant", "tool_calls": ["c1"]}, "input message 0 tool call 0 lacks an id or a function"),
    ({"role": "user", "content": [{"text": "hi"}]}, "input message 0 content part 0 is an object without a 'type'"),
    ({"role": "user", "content": [7]}, "input message 0 content part 0 is a number without a 'type'"),
    ({"role": "user", "content": 7.5}, "input message 0 content is a number, not text or a list of parts"),
    ({"role": "user", "content": True}, "input message 0 content is a boolean, not text or a list of parts"),
    ({"role": "x" * 20}, f"input message 0 has role {'x' * 20!r}; expected one of "
                         "['assistant', 'developer', 'system', 'tool', 'user']"),
    ({"role": "x" * 21}, "input message 0 has role text; expected one of "
                         "['assistant', 'developer', 'system', 'tool', 'user']"),
    ({"role": None}, "input message 0 has role null; expected one of "
                     "['assistant', 'developer', 'system', 'tool', 'user']"),
    ({"role": "function", "content": "x"}, "input message 0 has role 'function' (legacy function calling), which "
                                           "has no place in the chat format; record tool calls instead"),
])
def test_each_unreadable_message_is_named_by_its_place_and_shape(message, said):
    assert refused(lambda: messages_of(message)) == said


def test_a_message_that_is_not_an_object_is_named_by_its_kind():
    assert refused(lambda: parse_input(json.dumps([["user", "hi"]]))) == "input message 0 is a list, not an object"
    assert refused(lambda: parse_input(json.dumps({"messages": [1.5]}))) == (
        "input message 0 is a number, not an object")


def test_text_parts_given_as_strings_become_text_parts_and_names_are_kept():
    [message] = messages_of({"role": "user", "name": "ann", "content": ["hi", {"type": "image_url", "url": "u"}]})
    assert message == {"role": "user", "name": "ann",
                       "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "url": "u"}]}


def test_tools_and_legacy_functions_are_offered_together():
    _, tools = parse_input(json.dumps({"messages": [{"role": "user", "content": "hi"}],
                                       "tools": [{"type": "function", "function": {"name": "a"}}],
                                       "functions": [{"name": "b"}]}))
    assert tools == [{"type": "function", "function": {"name": "a"}}, {"type": "function", "function": {"name": "b"}}]


@pytest.mark.parametrize(("request_", "said"), [
    ({"messages": [], "tools": {"a": 1}}, "input tools (or functions) is not a list"),
    ({"messages": [], "functions": "b"}, "input tools (or functions) is not a list"),
    ({"messages": [], "tools": ["a"]}, "input tool 0 is text, not an object"),
    (7, "input is a number, not a list of chat messages or an object with a 'messages' list"),
    ({"prompt": "hi"}, "input is an object, not a list of chat messages or an object with a 'messages' list"),
])
def test_each_unreadable_request_is_named(request_, said):
    assert refused(lambda: parse_input(json.dumps(request_))) == said


def test_a_request_of_one_message_object_is_read():
    assert parse_input({"role": "user", "content": "hi"}) == ([{"role": "user", "content": "hi"}], [])
    assert refused(lambda: parse_input({"role": "user", "content": 3})) == (
        "input message 0 content is a number, not text or a list of parts")


@pytest.mark.parametrize(("raw", "said"), [
    (None, "input is missing: the generation recorded no request messages"),
    ("Xylophone lessons", "input is plain text, not a list of chat messages"),
    ("[1, 2", "input looks like JSON but does not parse (line 1, column 6): truncated or corrupted"),
    ([("user", "hi")], "input message 0 is tuple, not an object"),  # an export's decoded value of another type
])
def test_input_that_is_no_request_says_what_it_is(raw, said):
    assert refused(lambda: parse_input(raw)) == said


def test_input_that_looks_like_json_but_is_cut_says_where():
    assert refused(lambda: parse_input('  [{"role": "user", "content": "hi"')) == (
        "input looks like JSON but does not parse (line 1, column 34): truncated or corrupted")


@pytest.mark.parametrize(("raw", "answer", "finish"), [
    ([], None, None),
    ({"choices": []}, None, None),
    ({"choices": [{"message": {"content": "a"}, "finish_reason": "length"}]}, {"role": "assistant", "content": "a"},
     "length"),
    ({"message": {"content": "b"}, "finish_reason": ""}, {"role": "assistant", "content": "b"}, None),
    ({"message": {"content": "b"}, "finish_reason": 3}, {"role": "assistant", "content": "b"}, None),
    ({"content": "c", "finish_reason": "stop"}, {"role": "assistant", "content": "c"}, "stop"),
    ({"answer": "é", "n": 1}, {"role": "assistant", "content": '{"answer": "é", "n": 1}'}, None),  # JSON mode
    ('{"answer": "é"', {"role": "assistant", "content": '{"answer": "é"'}, None),  # looks like JSON, is text
    ("null", None, None),
])
def test_each_shape_of_an_answer_is_read_as_one_assistant_message(raw, answer, finish):
    assert parse_output(raw) == (answer, finish)


def test_an_answer_given_as_a_decoded_json_object_is_kept_as_its_text():
    assert parse_output({"answer": "é"})[0] == {"role": "assistant", "content": '{"answer": "é"}'}


@pytest.mark.parametrize(("raw", "said"), [
    ({"role": "user", "content": "x"}, "output message has role 'user', not 'assistant'"),
    ({"role": "u" * 21, "content": "x"}, "output message has role text, not 'assistant'"),
    ({"role": "u" * 20, "content": "x"}, f"output message has role {'u' * 20!r}, not 'assistant'"),
    ({"role": ["a"], "content": "x"}, "output message has role a list, not 'assistant'"),
    (4.5, "output is a number, not an assistant message or text"),
    ({"content": {"text": "x"}}, "output message content is an object, not text or a list of parts"),
])
def test_each_unreadable_answer_is_named(raw, said):
    assert refused(lambda: parse_output(raw)) == said


# --- measures ------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "typed", "extra"), [
    ({"max_tokens": "1"}, {"max_tokens": 1}, {}),
    ({"max_tokens": "0"}, {}, {"max_tokens": 0}),
    ({"max_tokens": "2.5"}, {}, {"max_tokens": 2.5}),
    ({"max_tokens": "3.0"}, {"max_tokens": 3}, {}),
    ({"max_tokens": True}, {}, {"max_tokens": True}),
    ({"max_output_tokens": "64"}, {"max_tokens": 64}, {"max_output_tokens": 64}),  # which field it was stays
    ({"temperature": "0"}, {"temperature": 0.0}, {}),
    ({"temperature": "-0.1"}, {}, {"temperature": -0.1}),
    ({"temperature": "1.7"}, {"temperature": 1.7}, {}),
    ({"top_p": "1"}, {"top_p": 1.0}, {}),
    ({"top_p": "0"}, {"top_p": 0.0}, {}),
    ({"top_p": "1.5"}, {}, {"top_p": 1.5}),
    ({"stream": "True", "logprobs": "False"}, {}, {"stream": True, "logprobs": False}),
    ({"stop": "NONE", "seed": "Null", "user": "undefined", "n": " "}, {}, {}),
    ({"max_tokens": "INF", "frequency_penalty": float("nan")}, {}, {}),
    ({"response_format": '{"type": "json_object"}'}, {}, {"response_format": {"type": "json_object"}}),
])
def test_model_parameters_read_back_from_langfuses_strings(raw, typed, extra):
    expected = {"max_tokens": None, "temperature": None, "top_p": None, **typed, "extra": extra}
    assert model_parameters(raw) == expected


@pytest.mark.parametrize(("details", "expected"), [
    ({"prompt_tokens": 10, "completion_tokens": 4}, (10, 4, 14, None)),
    ({"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 20}, (10, 4, 20, None)),
    ({"input": 10, "output": 4, "total": 15}, (10, 4, 15, None)),
    ({"input": 10}, (10, None, None, None)),
    ({"input": 10, "input_cached_tokens": 6, "input_cache_read": 2, "output": 1}, (18, 1, 19, 8)),
    ({"input": 2.6, "output": -3, "total": True}, (3, None, None, None)),
    ({"input": 0, "output": 5}, (0, 5, 5, None)),  # nothing read is still a count
    ({"input": float("inf"), "output": 2}, (None, 2, None, None)),
    ({}, None),
])
def test_usage_is_read_as_langfuse_sums_it(details, expected):
    got = usage(details)
    if expected is None:
        assert got == {}
    else:
        assert (got["input_tokens"], got["output_tokens"], got["total_tokens"], got["cached_input_tokens"]) == expected


@pytest.mark.parametrize(("details", "total_cost", "expected"), [
    ({"input": 0.1, "output": 0.2}, None, (0.1, 0.2, pytest.approx(0.3))),
    ({"input": 0.1, "output": 0.2, "total": 0.5}, 9.0, (0.1, 0.2, 0.5)),
    ({"input": 0.1}, None, (0.1, None, None)),
    (None, 0, (None, None, 0.0)),
    (None, -1, (None, None, None)),
    (None, True, (None, None, None)),
    ({"output": 0.2}, 0.7, (None, 0.2, 0.7)),
])
def test_cost_is_read_from_its_details_or_langfuses_total(details, total_cost, expected):
    got = cost(details, total_cost)
    assert (got["input_usd"], got["output_usd"], got["total_usd"]) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-03-02T08:00:00.123Z", datetime(2026, 3, 2, 8, 0, 0, 123000, tzinfo=UTC)),
    (" 2026-03-02 08:00:00 ", datetime(2026, 3, 2, 8, tzinfo=UTC)),  # an export's: UTC without a zone
    ("2026-03-02T10:00:00+02:00", datetime(2026, 3, 2, 8, tzinfo=UTC)),
    (datetime(2026, 3, 2, 8), datetime(2026, 3, 2, 8, tzinfo=UTC)),
    (datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=1))), datetime(2026, 3, 2, 8, tzinfo=UTC)),
    (None, None), ("", None),
])
def test_a_timestamp_is_read_as_utc(value, expected):
    got = parse_time(value, "startTime")
    assert got == expected and (got is None or got.utcoffset() == timedelta(0))


def test_a_timestamp_without_a_zone_is_utc_whatever_the_hosts_zone(monkeypatch: pytest.MonkeyPatch):
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        for value in ("2026-03-02 08:00:00", datetime(2026, 3, 2, 8), "2026-03-02T03:00:00-05:00"):
            got = parse_time(value, "startTime")
            assert got == datetime(2026, 3, 2, 8, tzinfo=UTC) and got.utcoffset() == timedelta(0)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(("end_ms", "fallback", "expected"), [
    (0, None, 0.0), (1, None, 1.0), (-1, 5, None), (None, 2, 2000.0), (None, 0, 0.0), (None, -0.5, None),
    (None, True, None), (None, "2", None), (None, None, None),
])
def test_elapsed_time_is_the_stamps_difference_or_langfuses_seconds(end_ms, fallback, expected):
    end = None if end_ms is None else T0 + timedelta(milliseconds=end_ms)
    assert elapsed_ms(T0, end, fallback) == expected


# --- windows -------------------------------------------------------------------------------

PACING = Pacing(overlap=timedelta(minutes=5), settle_delay=timedelta(minutes=1), max_span=timedelta(hours=1),
                poll_interval=timedelta(seconds=30))


def test_a_window_is_live_when_it_reaches_the_present_less_a_poll():
    now = T0 + timedelta(hours=3)
    edge = now - PACING.settle_delay - PACING.poll_interval
    assert windows.is_live(Window(T0, edge), now, PACING)
    assert not windows.is_live(Window(T0, edge - timedelta(milliseconds=1)), now, PACING)


def test_a_running_generation_at_the_deferral_edge_is_left_for_the_next_poll():
    window = windows.next_window(T0, T0 + timedelta(minutes=30), PACING)
    assert window is not None and window.defer_from == window.end - PACING.overlap
    at_edge = window.defer_from
    assert windows.is_deferred({"endTime": None}, at_edge, window)
    assert not windows.is_deferred({"endTime": None}, at_edge - timedelta(milliseconds=1), window)
    assert not windows.is_deferred({"endTime": "2026-03-02T09:00:00Z"}, at_edge, window)


def test_a_backfill_stops_at_its_end_reads_each_moment_once_and_defers_nothing():
    now = T0 + timedelta(days=2)
    window = windows.backfill_window(T0, T0 + timedelta(minutes=20), now, PACING)
    assert window == Window(T0, T0 + timedelta(minutes=20), None)
    assert windows.backfill_window(T0 + timedelta(minutes=20), T0 + timedelta(minutes=20), now, PACING) is None


@pytest.mark.parametrize(("micros", "kept"), [(999_999, 999_000), (500_000, 500_000), (1_999, 1_000), (999, 0)])
def test_a_bound_is_cut_to_the_millisecond_like_langfuses(micros, kept):
    assert windows.to_millis(datetime(2026, 3, 2, 8, 0, 0, micros, tzinfo=UTC)) == datetime(2026, 3, 2, 8, 0, 0, kept,
                                                                                    tzinfo=UTC)

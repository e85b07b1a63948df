"""Every rule of a training example, broken once: the issue's stable code, its text and the
message it points at.

``test_message_rules.py`` and ``test_tool_rules.py`` check the line a person reads in a whole
file. The code and the message index are what a script reads (`distillery dataset validate
--json`) and what the console uses to point at a message: each is pinned here, rule by rule.
"""

from __future__ import annotations

from typing import Any

import pytest

from distillery_dataset_builder.domain.example_rules import check_example
from distillery_dataset_builder.domain.limits import limits_for

LIMITS = limits_for("gpt-4o-mini-2024-07-18")
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
USER = {"role": "user", "content": "Weather in Rome?"}
ANSWER = {"role": "assistant", "content": "Sunny."}


def call(call_id: Any = "c1", name: Any = "get_weather", arguments: Any = "{}", **changes: Any) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}, **changes}


def calling(*calls: Any) -> dict:
    return {"role": "assistant", "tool_calls": list(calls)}


def reply(call_id: Any = "c1") -> dict:
    return {"role": "tool", "tool_call_id": call_id, "content": "18 C"}


def issues(example: Any) -> list[tuple[str, str, int | None]]:
    return [(i.code, i.message, i.message_index) for i in check_example(example, LIMITS, tokens=10).issues]


def tooled(*messages: dict, tools: Any = None) -> dict:
    return {"messages": list(messages), "tools": [TOOL] if tools is None else tools}


@pytest.mark.parametrize(("example", "expected"), [
    ([1], [("not_an_object", 'expected a JSON object with "messages", got a list', None)]),
    ({"messages": [USER, ANSWER], "seed": 1},
     [("unrecognized_key", 'unrecognized key "seed"; allowed: "messages", "tools", "parallel_tool_calls"', None)]),
    ({"messages": [USER, ANSWER], "parallel_tool_calls": "yes"},
     [("invalid_parallel_tool_calls", '"parallel_tool_calls" must be true or false, got a string', None)]),
    ({}, [("missing_messages", 'no "messages"; each line needs a "messages" list', None)]),
    ({"messages": []}, [("invalid_messages", '"messages" must be a non-empty list, got an empty list', None)]),
    ({"messages": [USER, ANSWER], "tools": {}},
     [("invalid_tools", '"tools" must be a list of tool definitions, got an object', None)]),
    (tooled(USER, ANSWER, tools=["get_weather"]),
     [("invalid_tool", 'tool 1 must be an object like {"type": "function", "function": {...}}, got a string', None)]),
    (tooled(USER, ANSWER, tools=[{"type": "function", "function": "get_weather"}]),
     [("invalid_tool", 'tool 1 needs a "function" object, got a string', None)]),
    (tooled(USER, ANSWER, tools=[{**TOOL, "x": 1}]),
     [("unrecognized_tool_key", 'tool 1 has unrecognized key "x"; allowed: "type", "function"', None)]),
    (tooled(USER, ANSWER, tools=[{"type": "function", "function": {**TOOL["function"], "y": 2}}]),
     [("unrecognized_tool_key", 'tool 1 function has unrecognized key "y"; allowed: "name", "description", '
                                '"parameters", "strict"', None)]),
    (tooled(USER, ANSWER, tools=[{"type": "function", "function": {"name": "a" * 65}}]),
     [("invalid_tool_name", f'tool 1 has name "{"a" * 65}"; names must match ^[a-zA-Z0-9_-]{{1,64}}$', None)]),
    (tooled(USER, ANSWER, tools=[{"type": "function", "function": {"name": "f", "description": 3}}]),
     [("invalid_tool", "tool 1 description must be a string, got a number", None)]),
    (tooled(USER, ANSWER, tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}]),
     [("invalid_tool_parameters", 'tool 1 ("f") parameters must be a JSON Schema object with "type": "object"',
       None)]),
    (tooled(USER, ANSWER, tools=[{"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": []}}}]),
     [("invalid_tool_parameters", 'tool 1 ("f") parameters must be a JSON Schema object with "type": "object"',
       None)]),
    (tooled(USER, ANSWER, tools=[TOOL, TOOL]), [("duplicate_tool_name", 'tool 2 repeats the name "get_weather"', None)]),
])
def test_each_rule_of_the_example_and_its_tools_has_its_code(example, expected):
    assert issues(example) == expected


@pytest.mark.parametrize(("calls", "expected"), [
    ([], [("invalid_tool_calls", 'message 2 (assistant) "tool_calls" must be a non-empty list, got an empty list', 1)]),
    (["c1"], [("invalid_tool_call", 'tool call 1 of message 2 must be an object with "id", "type" and "function", '
                                    "got a string", 1)]),
    ([call(type="retrieval")], [("invalid_tool_call", 'tool call 1 of message 2 has type "retrieval"; '
                                                      'expected "function"', 1)]),
    ([{"id": "c1", "type": "function", "function": "get_weather"}],
     [("invalid_tool_call", 'tool call 1 of message 2 needs a "function" object with "name" and "arguments", '
                            "got a string", 1)]),
    ([call(call_id="")], [("missing_tool_call_id", 'tool call 1 of message 2 has no "id" (a non-empty string)', 1)]),
    ([call(call_id=7)], [("missing_tool_call_id", 'tool call 1 of message 2 has no "id" (a non-empty string)', 1)]),
    ([call(name=None)], [("invalid_tool_call", 'tool call 1 of message 2 has no function "name"', 1)]),
    ([call(name="get_time")], [("undeclared_tool", 'tool call 1 of message 2 calls "get_time", which is not declared '
                                                   'in "tools" (declared: get_weather)', 1)]),
    ([call(arguments={"city": "Rome"})], [("invalid_tool_arguments", "tool call 1 of message 2 arguments must be a "
                                                                     "string of JSON, got an object", 1)]),
    ([call(arguments='{"city": ')], [("invalid_tool_arguments", "tool call 1 of message 2 arguments are not valid "
                                                                "JSON: Expecting value at column 10", 1)]),
    ([call(arguments="[1]")], [("invalid_tool_arguments", "tool call 1 of message 2 arguments must be a JSON object, "
                                                          "got a list", 1)]),
    ([call(arguments="[" * 100_000)], [("invalid_tool_arguments", "tool call 1 of message 2 arguments are not valid "
                                                                  "JSON: nested too deeply", 1)]),
])
def test_each_rule_of_a_tool_call_has_its_code_and_points_at_its_message(calls, expected):
    answers = [reply(c["id"]) for c in calls if isinstance(c, dict) and isinstance(c.get("id"), str) and c["id"]]
    assert issues(tooled(USER, calling(*calls), *answers, ANSWER)) == expected


def test_two_calls_with_one_id_point_at_their_message():
    assert issues(tooled(USER, calling(call(), call()), reply(), ANSWER)) == [
        ("duplicate_tool_call_id", 'tool call 2 of message 2 repeats the id "c1"', 1)]


def test_a_call_in_an_example_without_tools_names_the_missing_tools():
    assert issues({"messages": [USER, calling(call()), reply(), ANSWER]}) == [
        ("undeclared_tool", 'tool call 1 of message 2 calls "get_weather", but the example declares no "tools"', 1)]


@pytest.mark.parametrize(("messages", "expected"), [
    ([USER, ANSWER, {"role": "system", "content": "late"}, ANSWER],
     [("system_not_first", "message 3 is a system message; a system message may only be the first message", 2)]),
    ([USER, calling(call()), ANSWER],
     [("unanswered_tool_call", 'tool call "c1" of message 2 has no tool response before message 3 (assistant)', 1)]),
    ([USER, calling(call()), reply(), reply(), ANSWER],
     [("duplicate_tool_response", 'message 4 (tool) answers tool call "c1" a second time', 3)]),
    ([USER, reply(), ANSWER],
     [("orphan_tool_message", "message 2 (tool) does not follow an assistant message with tool_calls", 1)]),
    ([USER, calling(call(), call(call_id="c2")), reply("c9"), reply(), reply("c2"), ANSWER],
     [("orphan_tool_message", 'message 3 (tool) answers tool call "c9", which the assistant did not just make '
                              '(its calls: "c1", "c2")', 2)]),
    ([USER, calling(call()), reply(""), reply(), ANSWER],
     [("missing_tool_call_id", 'message 3 (tool) has no "tool_call_id" (a non-empty string)', 2)]),
    ([USER, {"role": "assistant", "content": None}],
     [("assistant_without_content", 'message 2 (assistant) has neither content nor "tool_calls"', 1)]),
    ([USER, {**ANSWER, "weight": 2}], [("invalid_weight", "message 2 (assistant) has weight 2; weight must be 0 or 1", 1)]),
    ([USER, {**ANSWER, "weight": True}],
     [("invalid_weight", "message 2 (assistant) has weight true; weight must be 0 or 1", 1)]),
    ([{**USER, "weight": 1}, ANSWER],
     [("weight_not_on_assistant", 'message 1 (user) has "weight"; only assistant messages may have one', 0)]),
    ([USER, {**ANSWER, "name": ""}],
     [("invalid_name", 'message 2 (assistant) "name" must be a non-empty string, got a string', 1)]),
    ([USER, {"role": "assistant", "content": 5}],
     [("invalid_content", "message 2 (assistant) content must be a string or a non-empty list of text parts, got a "
                          "number", 1),
      ("assistant_without_content", 'message 2 (assistant) has neither content nor "tool_calls"', 1)]),
    ([USER, {"role": "assistant", "content": [{"type": "text"}]}],  # a part, if broken, is still content
     [("invalid_content_part", 'message 2 (assistant) content part 1 must be {"type": "text", "text": "..."}, got '
                               'type "text"', 1)]),
    ([{"role": "user"}, ANSWER], [("missing_content", 'message 1 (user) has no "content"', 0)]),
    ([{"role": "user", "content": ""}, ANSWER], [("empty_content", "message 1 (user) has empty content", 0)]),
    ([{"role": "user", "content": 5}, ANSWER],
     [("invalid_content", "message 1 (user) content must be a string or a non-empty list of text parts, got a number",
       0)]),
    ([{"role": "user", "content": [{"type": "image_url"}]}, ANSWER],
     [("invalid_content_part", 'message 1 (user) content part 1 must be {"type": "text", "text": "..."}, got type '
                               '"image_url"', 0)]),
    ([{"role": "user", "content": [3]}, ANSWER],
     [("invalid_content_part", 'message 1 (user) content part 1 must be {"type": "text", "text": "..."}, got a '
                               "number", 0)]),
    ([USER, "Sunny."], [("invalid_message", "message 2 must be an object, got a string", 1)]),  # maybe the answer
    ([USER, {"role": "user", "content": "again"}],
     [("missing_assistant_message", "no assistant message; an example needs at least one user and one assistant "
                                    "message", None)]),
    ([ANSWER], [("missing_user_message", "no user message; an example needs at least one user and one assistant "
                                         "message", None)]),
])
def test_each_rule_of_the_conversation_has_its_code_and_points_at_its_message(messages, expected):
    assert issues(tooled(*messages)) == expected


def test_a_message_without_a_role_or_with_an_unknown_one_is_named():
    found = issues(tooled(USER, {"content": "x"}, {"role": "assitant", "content": "y"}, ANSWER))
    assert [(code, index) for code, _, index in found] == [("missing_role", 1), ("unrecognized_role", 2)]
    assert found[1][1].startswith('message 3 has role "assitant"; expected one of ')


def test_an_example_over_the_models_limit_says_by_how_much():
    check = check_example({"messages": [USER, ANSWER]}, LIMITS, tokens=LIMITS.max_example_tokens + 1)
    assert [(i.code, i.message) for i in check.issues] == [(
        "too_many_tokens", f"example has {LIMITS.max_example_tokens + 1:,} tokens; gpt-4o-mini-2024-07-18 allows at "
                           f"most {LIMITS.max_example_tokens:,} per example")]
    assert check_example({"messages": [USER, ANSWER]}, LIMITS, tokens=LIMITS.max_example_tokens).issues == []


def test_later_tools_and_calls_are_checked_after_an_unusable_one():
    assert [code for code, _, _ in issues(tooled(USER, ANSWER, tools=["x", TOOL, TOOL]))] == [
        "invalid_tool", "duplicate_tool_name"]
    found = issues(tooled(USER, calling("c0", call(), call()), reply(), ANSWER))
    assert [(code, index) for code, _, index in found] == [("invalid_tool_call", 1), ("duplicate_tool_call_id", 1)]


def test_the_tool_rules_name_their_kinds_and_what_was_declared():
    assert issues(tooled(USER, ANSWER, tools=[{**TOOL, "type": "retrieval"}])) == [
        ("invalid_tool_type", 'tool 1 has type "retrieval"; expected "function"', None)]
    two = [TOOL, {"type": "function", "function": {"name": "book"}}]
    assert issues(tooled(USER, calling(call(name="x")), reply(), ANSWER, tools=two))[0][1].endswith(
        '(declared: book, get_weather)')
    assert issues(tooled(USER, calling(call(name="x")), reply(), ANSWER, tools=[]))[0][1].endswith("(declared: none)")


def test_a_tool_result_may_be_empty_but_not_missing_and_an_unknown_key_is_named():
    assert issues(tooled(USER, calling(call()), {**reply(), "content": ""}, ANSWER)) == []
    tool_without_content = {"role": "tool", "tool_call_id": "c1"}
    assert issues(tooled(USER, calling(call()), tool_without_content, ANSWER)) == [
        ("missing_content", 'message 3 (tool) has no "content"', 2)]
    assert issues(tooled(USER, {**ANSWER, "audio": {}})) == [
        ("unrecognized_message_key", 'message 2 (assistant) has unrecognized key "audio"; allowed: "role", "content", '
                                     '"name", "tool_calls", "weight", "refusal"', 1)]
    assert issues(tooled(USER, {"role": "assistant", "content": "", "tool_calls": [call()]}, reply(), ANSWER)) == []


def test_an_orphan_answer_after_calls_without_usable_ids_says_none_were_made():
    assert issues(tooled(USER, calling(call(call_id="")), reply("c1"), ANSWER))[-1] == (
        "orphan_tool_message", 'message 3 (tool) answers tool call "c1", which the assistant did not just make '
                               "(its calls: none)", 2)


def write(tmp_path, *lines: bytes) -> str:  # noqa: ANN001
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"".join(lines))
    return str(path)


def test_a_file_reports_each_line_by_its_code_and_counts_the_examples_that_break_a_rule(tmp_path):
    import json

    from distillery_dataset_builder.domain.validation import validate_jsonl

    good = json.dumps({"messages": [USER, ANSWER]}).encode()
    path = write(tmp_path, b"\xef\xbb\xbf" + good + b"\r\n", b"\n", good + b"\n", b'{"messages": []}\n',
                 b'{"messages": 1}\n', good + b"\r\n")
    report = validate_jsonl(path, "gpt-4o-mini-2024-07-18")
    assert [(e.line, e.code) for e in report.errors] == [
        (1, "byte_order_mark"), (2, "blank_line"), (4, "invalid_messages"), (5, "invalid_messages"),
        (None, "too_few_examples")]
    assert (report.examples, report.invalid_examples, report.path, report.file_bytes) == (
        5, 2, path, (tmp_path / "train.jsonl").stat().st_size)
    assert report.errors[1].message == "blank line; every line must hold one JSON example"
    assert report.limits == LIMITS and report.training is not None and report.training.cost_note is None


@pytest.mark.parametrize(("size", "text"), [
    (999, "999 bytes"), (1_000, "1 kB"), (1_500, "1.5 kB"), (999_999, "1,000 kB"), (1_000_000, "1 MB"),
    (600_200_000, "600.2 MB"), (1_000_000_000, "1 GB"), (2_500_000_000, "2.5 GB"),
])
def test_a_size_reads_in_si_units(size, text):
    from distillery_dataset_builder.domain.validation import size_text

    assert size_text(size) == text


def test_a_file_at_the_size_limit_is_accepted_and_one_byte_more_is_not(tmp_path):
    import dataclasses
    import json

    from distillery_dataset_builder.domain.validation import validate_jsonl

    lines = [json.dumps({"messages": [USER, ANSWER]}).encode() + b"\n"] * LIMITS.min_examples
    path = write(tmp_path, *lines)
    size = (tmp_path / "train.jsonl").stat().st_size
    at_limit = validate_jsonl(path, LIMITS.model, limits=dataclasses.replace(LIMITS, max_file_bytes=size))
    assert at_limit.errors == []
    over = validate_jsonl(path, LIMITS.model, limits=dataclasses.replace(LIMITS, max_file_bytes=size - 1))
    assert [(e.line, e.code) for e in over.errors] == [(None, "file_too_large")]
    with pytest.raises(ValueError, match="^epochs must be at least 1$"):
        validate_jsonl(path, LIMITS.model, epochs=0)


def test_lines_that_do_not_parse_are_each_counted_and_named(tmp_path):
    import json

    from distillery_dataset_builder.domain.validation import validate_jsonl

    good = json.dumps({"messages": [USER, ANSWER]}).encode() + b"\n"
    path = write(tmp_path, b"\xef\xbb\xbf\n", good, b'{"messages": [\n', b'{"messages": [{"role": "user", "content": '
                 b'"\\ud800"}, {"role": "assistant", "content": "x"}]}\n', good)
    report = validate_jsonl(path, "gpt-4o-mini-2024-07-18")
    assert [(e.line, e.code) for e in report.errors[:4]] == [
        (1, "byte_order_mark"), (1, "blank_line"), (3, "invalid_json"), (4, "unsafe_text")]
    assert (report.examples, report.invalid_examples) == (5, 3)  # a BOM alone is a line that holds no example
    assert report.errors[1].message == "blank line; every line must hold one JSON example"

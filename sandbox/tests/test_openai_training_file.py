"""A training file is checked as the provider checks it, and a fault names its line."""

from __future__ import annotations

import json

import pytest

from distillery_sandbox.openai import TrainingFileError, read_training_file

GOOD = {"messages": [{"role": "system", "content": "You are the clinic's assistant."},
                     {"role": "user", "content": "When are you open on Friday?"},
                     {"role": "assistant", "content": "On Friday we're open from 08:00 to 17:00."}]}


def jsonl(lines: list[object]) -> bytes:
    return "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines).encode()


def with_line(number: int, line: object, total: int = 12) -> bytes:
    lines: list[object] = [GOOD] * total
    lines[number - 1] = line
    return jsonl(lines)


def test_a_valid_file_yields_its_examples_and_a_token_estimate():
    training = read_training_file(jsonl([GOOD] * 12) + b"\n")
    assert len(training) == 12
    assert training.tokens > 12 * 20


@pytest.mark.parametrize(("line", "message"), [
    ('{"messages": [', "Line 3: not valid JSON"),
    ([1, 2], "Line 3: expected a JSON object with a 'messages' list"),
    ({"prompt": "hi"}, "Line 3: missing 'messages'"),
    ({"messages": [{"role": "robot", "content": "beep"}]}, "Line 3: message 1: unrecognised role 'robot'"),
    ({"messages": [{"role": "user", "content": "hi"}]}, "Line 3: no assistant message with weight 1"),
    ({"messages": [{"role": "user", "content": "hi"},
                   {"role": "assistant", "content": "hello", "weight": 0.5}]},
     "Line 3: message 2: 'weight' must be 0 or 1, got 0.5"),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant"}]},
     "Line 3: message 2: assistant message has neither content nor tool_calls"),
    ({"messages": [{"role": "user", "content": "hi"},
                   {"role": "assistant", "tool_calls": [{"type": "function"}]}]},
     "Line 3: message 2: 'tool_calls' must be a list"),
    ("", "Line 3: the line is empty"),
])
def test_a_malformed_line_is_reported_with_its_number(line, message):
    with pytest.raises(TrainingFileError) as raised:
        read_training_file(with_line(3, line))
    assert str(raised.value).startswith("Invalid file format.")
    assert message in str(raised.value)


def test_a_file_with_fewer_than_ten_examples_is_refused():
    with pytest.raises(TrainingFileError, match=r"has 9 example\(s\), but must have at least 10"):
        read_training_file(jsonl([GOOD] * 9))


def test_a_file_that_is_not_utf8_text_is_refused():
    with pytest.raises(TrainingFileError, match="not UTF-8"):
        read_training_file(b"\xff\xfe" + jsonl([GOOD] * 12))

from __future__ import annotations

import json

import pytest

from distillery_students.domain.dataset import DatasetError, read_examples


def line(messages, **extra) -> str:
    return json.dumps({"messages": messages, **extra})


GOOD = line([{"role": "user", "content": "Price?"}, {"role": "assistant", "content": "$120."}])


def test_reads_the_dataset_builders_lines_as_they_are(tool_conversation):
    examples = read_examples([GOOD, "", json.dumps(tool_conversation)], source="train.jsonl")
    assert [example.line for example in examples] == [1, 3]
    assert examples[1].tools == tool_conversation["tools"]


def test_a_bad_line_is_one_line_numbered_error():
    bad = line([{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": "{oops"}}]}])
    with pytest.raises(DatasetError) as raised:
        read_examples([GOOD, bad, GOOD], source="train.jsonl")
    assert str(raised.value) == ("train.jsonl line 2: message 2 (assistant) calls f with arguments that "
                                 "are not a JSON object")
    assert "\n" not in str(raised.value)


def test_counts_the_other_bad_lines():
    with pytest.raises(DatasetError) as raised:
        read_examples(["{not json", "[1]", GOOD, line([{"role": "user", "content": "x"}])], source="d.jsonl")
    assert str(raised.value) == "d.jsonl line 1: not JSON (Expecting property name enclosed in double quotes at column 2) (and 2 more bad lines)"
    assert raised.value.details()[1:] == [
        "d.jsonl line 2: not a JSON object",
        "d.jsonl line 4: no assistant message to learn from (none, or all with weight 0)",
    ]


def test_a_line_whose_answers_all_have_weight_zero_teaches_nothing():
    with pytest.raises(DatasetError, match="line 1: no assistant message to learn from"):
        read_examples([line([{"role": "user", "content": "x"}, {"role": "assistant", "content": "y", "weight": 0}])])


def test_an_empty_file_is_an_error():
    with pytest.raises(DatasetError, match="holds no examples"):
        read_examples(["", "  "], source="empty.jsonl")

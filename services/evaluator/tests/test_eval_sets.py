"""Golden set files and the validation split."""

from __future__ import annotations

import json

import pytest

from distillery_evaluator.domain.evalset import (
    EvalSet,
    EvalSetError,
    golden_line,
    parse_golden_lines,
    validation_items,
)

LINE = {"id": "q1", "messages": [{"role": "user", "content": "Price of a skin check?"}],
        "facts": ["A skin check costs €90."], "reference": "It's €90."}


def test_golden_lines_round_trip_and_version_by_content():
    [item] = parse_golden_lines([json.dumps(LINE)])
    assert parse_golden_lines([golden_line(item)]) == [item]
    changed = parse_golden_lines([json.dumps({**LINE, "facts": ["A skin check costs €95."]})])
    assert EvalSet.of("golden", [item]).version != EvalSet.of("golden", changed).version
    other = parse_golden_lines([json.dumps({**LINE, "id": "q2"})])
    assert EvalSet.of("golden", [item, *other]).version == EvalSet.of("golden", [*other, item]).version


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "line 2: not valid JSON"),
    (json.dumps({**LINE, "id": ""}), "line 2: 'id' must be a non-empty string"),
    (json.dumps({**LINE, "facts": [], "reference": None}), "line 2: needs 'facts' or a 'reference'"),
    (json.dumps({**LINE, "messages": [{"role": "assistant", "content": "hi"}]}),
     "line 2: the last message must be the user's"),
    (json.dumps(LINE), "line 2: duplicate id 'q1'"),
])
def test_a_bad_golden_line_is_named_with_its_problem(line, message):
    with pytest.raises(EvalSetError, match=message):
        parse_golden_lines([json.dumps(LINE), line], "golden.jsonl")


def test_the_validation_split_gives_prompt_and_reference_from_the_last_trained_turn():
    example = {"messages": [
        {"role": "system", "content": "clinic"}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!", "weight": 0},
        {"role": "user", "content": "Price of a skin check?"},
        {"role": "assistant", "content": "It's €90.", "weight": 1}]}
    no_user = {"messages": [{"role": "system", "content": "x"}, {"role": "assistant", "content": "y"}]}
    [item] = validation_items([json.dumps(example), json.dumps(no_user), ""])
    assert item.reference == "It's €90." and item.set_name == "validation"
    assert [m["role"] for m in item.messages] == ["system", "user", "assistant", "user"]
    assert "weight" not in item.messages[2]


def test_the_validation_subset_is_deterministic():
    lines = [json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                      {"role": "assistant", "content": f"a{i}"}]}) for i in range(20)]
    assert validation_items(lines, 5) == validation_items(list(reversed(lines)), 5)

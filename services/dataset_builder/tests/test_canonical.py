"""A stored training line is ``json.dumps``'s sorted, compact JSON (``json_dumps_line``, the line as the
dataset-builder first wrote it), byte for byte, however it is written."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillery_dataset_builder.domain.canonical import canonical_json
from distillery_dataset_builder.domain.canonical import json_dumps_line as reference


def outcome(write, value: object) -> tuple[str, str]:
    try:
        return "line", write(value)
    except ValueError as exc:  # NaN and infinity are refused, not written as null
        return "refused", type(exc).__name__


TEXT = st.text(st.characters(codec=None, categories=None))  # every code point, lone surrogates too
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | TEXT | st.sampled_from(["null", "1e5", "0.00001", ":1e5", "[-2.5e-3", "call_6e2f"])
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
                      max_leaves=30)


@settings(max_examples=600, deadline=None)
@given(VALUES)
def test_any_json_value_is_written_exactly_as_json_dumps_writes_it(value):
    assert outcome(canonical_json, value) == outcome(reference, value)


@pytest.mark.parametrize("value", [1e16, -1e16, 5e-05, 1.5e-300, 1.5e300, 123456789.123, -0.0, 2**70, float("nan"), float("inf")])
def test_floats_that_python_and_msgspec_write_differently_are_written_as_python_does(value):
    assert outcome(canonical_json, {"x": [value]}) == outcome(reference, {"x": [value]})


def test_a_training_example_is_written_without_falling_back_to_json_dumps(monkeypatch):
    """The fast path is the one taken for what examples hold: text, roles, tool calls (ids with
    a digit before an "e", as random ids have), schemas."""
    from distillery_dataset_builder.domain import canonical

    record = {"messages": [{"role": "user", "content": "Book me in for Tuesday, é (ref 3e-9, kb-e714a0cf93bb)"},
                           {"role": "assistant", "tool_calls": [{"id": "call_6e2f0e", "type": "function", "function": {
                               "name": "book", "arguments": '{"slot": "09:30"}'}}]}],
              "tools": [{"type": "function", "function": {"name": "book", "parameters": {
                  "type": "object", "properties": {"slot": {"type": "string", "minLength": 5}}}}}]}
    expected = reference(record)

    def refuse(*args, **kwargs):
        raise AssertionError("json.dumps was called")

    monkeypatch.setattr(canonical.json, "dumps", refuse)
    assert canonical_json(record) == expected


def test_an_examples_tools_are_dumped_as_pydantic_dumps_them_whichever_set_came_before():
    """Each distinct set of tools is dumped once and reused (``canonical.tools_record``): a set that
    writes the same JSON gets the same values, one that differs in any way its own, and a set
    whose JSON holds ``null`` (None or NaN) is dumped afresh."""
    import math

    from distillery_contracts.messages import ToolDefinition
    from distillery_dataset_builder.domain import canonical

    def tools(**schema):
        return [ToolDefinition.model_validate({"type": "function", "function": {
            "name": "book", "description": "Book a slot", "parameters": {"type": "object", **schema}}})]

    def fresh(ts):
        return canonical._TOOLS.dump_python(ts, mode="json", exclude_none=True)

    canonical._TOOL_SETS.clear()
    sets = [tools(minimum=1), tools(minimum=1.0), tools(minimum=1), tools(default=None),
            tools(default=float("nan")), tools(minimum=True), tools(minimum="1")]
    dumped = [canonical.tools_record(ts) for ts in sets]
    for ts, got in zip(sets, dumped, strict=True):
        assert repr(got) == repr(fresh(ts))
    assert type(dumped[1][0]["function"]["parameters"]["minimum"]) is float
    assert math.isnan(dumped[4][0]["function"]["parameters"]["default"])
    assert dumped[2] is dumped[0]  # the same set, dumped once
    assert len(canonical._TOOL_SETS) == 4  # 1, 1.0, True and "1"; the sets with null are not kept


def test_at_most_so_many_tool_sets_are_kept():
    from distillery_contracts.messages import ToolDefinition
    from distillery_dataset_builder.domain import canonical

    canonical._TOOL_SETS.clear()
    for n in range(canonical._TOOL_SETS_KEPT + 5):
        canonical.tools_record([ToolDefinition.model_validate({"type": "function", "function": {"name": f"tool_{n}"}})])
    assert 0 < len(canonical._TOOL_SETS) <= canonical._TOOL_SETS_KEPT


def test_examples_decoded_with_the_same_tools_find_their_set_without_writing_it(monkeypatch):
    """``ExampleAccepted.decode_json`` gives examples with the same tools JSON one list: its set is
    found by the tools' identity; an equal list of other objects is written and found by its JSON."""
    from distillery_contracts.examples import ExampleAccepted
    from distillery_contracts.samples.pipeline import sample_example_accepted
    from distillery_dataset_builder.domain import canonical

    tools = [{"type": "function", "function": {"name": "book", "parameters": {"type": "object"}}}]
    one, two = (ExampleAccepted.decode_json(sample_example_accepted(example_id=i, tools=tools).model_dump_json()
                                            .encode()) for i in ("ex-1", "ex-2"))
    assert one.tools is two.tools
    canonical._SHARED_SETS.clear()
    first = canonical.tools_record(one.tools)
    written = []
    real = canonical._TOOLS

    class Counting:
        def dump_json(self, *args, **kwargs):
            written.append(args)
            return real.dump_json(*args, **kwargs)

        def dump_python(self, *args, **kwargs):
            return real.dump_python(*args, **kwargs)

    monkeypatch.setattr(canonical, "_TOOLS", Counting())
    assert canonical.tools_record(two.tools) is first and written == []
    other = sample_example_accepted(example_id="ex-3", tools=tools).tools
    assert canonical.tools_record(other) == first and len(written) == 1
    for n in range(canonical._TOOL_SETS_KEPT + 5):
        canonical.tools_record(sample_example_accepted(example_id=f"ex-{n}", tools=tools).tools)
    assert 0 < len(canonical._SHARED_SETS) <= canonical._TOOL_SETS_KEPT

"""``decode_json`` of the events with tools lists (validated once) reads every body as pydantic does.

A property test: bodies built from a valid generation or accepted example, with tools lists valid
and not, repeated and not, the key spaced or doubled or nested elsewhere, and other fields broken,
decode to an equal event with the same fields set, or fail with the same errors, both ways.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from distillery_contracts.examples import ExampleAccepted
from distillery_contracts.registry import TRACES_RAW, get_topic
from distillery_contracts.samples.pipeline import sample_example_accepted, sample_trace_captured
from distillery_contracts.shared_tools import SharedTools
from distillery_contracts.traces import TraceCaptured

BASES: dict[type[Any], dict[str, Any]] = {
    TraceCaptured: json.loads(sample_trace_captured().model_dump_json()),
    ExampleAccepted: json.loads(sample_example_accepted().model_dump_json()),
}
BASE = BASES[TraceCaptured]

_NAMES = st.sampled_from(["check_availability", "book_appointment", "", "tools", "x" * 3])
_PARAMETERS = st.one_of(
    st.none(),
    st.just({"type": "object", "properties": {"day": {"type": "string"}}}),
    st.just({"type": "object", "properties": {"tools": {"type": "array"}}}),  # "tools" nested
    st.just([1, 2]),  # not an object: invalid
)
_TOOL = st.one_of(
    st.fixed_dictionaries({"type": st.just("function"),
                           "function": st.fixed_dictionaries({"name": _NAMES, "parameters": _PARAMETERS})}),
    st.fixed_dictionaries({"function": st.fixed_dictionaries({"name": _NAMES})}),  # type defaulted
    st.fixed_dictionaries({"type": st.just("retrieval"), "function": st.fixed_dictionaries({"name": _NAMES})}),
    st.just("check_availability"),  # not a tool at all
)
_TOOLS = st.one_of(st.lists(_TOOL, max_size=3), st.none(), st.just({}), st.just(7))
_OTHER_CHANGES = st.dictionaries(
    st.sampled_from(["start_time", "observation_id", "level", "metadata", "tags", "prompt_version",
                     "token_count", "messages", "redactions", "example_id"]),
    st.sampled_from(["not a time", "", 0, None, {"tools": []}, ["tools"], "ERROR", -1]),
    max_size=2,
)


def _body(tools: Any, absent: bool, other: dict[str, Any], spacing: str, twice: Any,
          model: type[Any] = TraceCaptured) -> bytes:
    fields = {k: v for k, v in {**BASES[model], **other}.items() if k != "tools"}
    text = json.dumps(fields)[:-1]
    if not absent:
        text += f', "tools"{spacing}:{spacing}{json.dumps(tools)}'
    if twice is not None:
        text += f', "tools": {json.dumps(twice)}'
    return (text + "}").encode()


def _outcome(decode: Any, body: bytes) -> Any:
    try:
        event = decode(body)
    except ValidationError as exc:
        return ("invalid", exc.errors(include_url=False))
    return ("valid", event, event.model_fields_set)


@settings(max_examples=600, deadline=None)
@given(model=st.sampled_from(sorted(BASES, key=lambda m: m.__name__)), tools=_TOOLS, absent=st.booleans(),
       other=_OTHER_CHANGES, spacing=st.sampled_from(["", " ", "\n\t "]), twice=st.one_of(st.none(), _TOOLS))
def test_decode_json_accepts_and_rejects_what_model_validate_json_does(model, tools, absent, other, spacing, twice):
    body = _body(tools, absent, other, spacing, twice, model)
    shared = SharedTools(size=4)  # small: evictions happen within the run
    first = _outcome(lambda b: shared.decode(model, b), body)
    again = _outcome(lambda b: shared.decode(model, b), body)  # this time from the cache
    assert first == again == _outcome(model.model_validate_json, body)
    assert _outcome(model.decode_json, body) == first


@pytest.mark.parametrize("body", [b"", b"[]", b"null", b'{"tools": [', b"\xff\xfe", b'"tools"'])
def test_what_is_not_a_json_object_fails_as_pydantic_says(body):
    with pytest.raises(ValidationError) as fast:
        TraceCaptured.decode_json(body)
    with pytest.raises(ValidationError) as slow:
        TraceCaptured.model_validate_json(body)
    assert fast.value.errors(include_url=False) == slow.value.errors(include_url=False)


def test_generations_with_the_same_tools_share_one_validated_list():
    tools = [{"type": "function", "function": {"name": "check_availability", "parameters": {"type": "object"}}}]
    one = TraceCaptured.decode_json(_body(tools, False, {"observation_id": "a"}, " ", None))
    two = TraceCaptured.decode_json(_body(tools, False, {"observation_id": "b"}, "", None))
    assert one.tools is two.tools and one.tools[0].function.name == "check_availability"
    other = TraceCaptured.decode_json(_body(tools * 2, False, {}, " ", None))
    assert other.tools is not one.tools and len(other.tools) == 2


def test_consumers_decode_traces_raw_with_it(monkeypatch):
    from distillery_contracts.envelope import Envelope
    from distillery_contracts.upcasting import decode_event

    seen = []
    monkeypatch.setattr(TraceCaptured, "decode_json", classmethod(lambda cls, body: seen.append(body) or
                                                                  cls.model_validate_json(body)))
    body = sample_trace_captured().model_dump_json().encode()
    envelope = Envelope.new(event_type="TraceCaptured", schema_version=1, producer="test/1")
    assert isinstance(decode_event(get_topic(TRACES_RAW), envelope, body), TraceCaptured)
    assert seen == [body]


def test_a_tools_key_elsewhere_holding_the_same_list_is_left_as_it_is():
    tools = [{"type": "function", "function": {"name": "check_availability"}}]
    body = _body(tools, False, {"metadata": {"tools": tools}}, " ", None)  # metadata comes first
    decoded = TraceCaptured.decode_json(body)
    assert decoded == TraceCaptured.model_validate_json(body)
    assert decoded.metadata == {"tools": tools}


def test_only_models_whose_tools_validate_apart_are_decoded_so():
    from pydantic import BaseModel, field_validator, model_validator

    from distillery_contracts.messages import ToolDefinition

    class Checked(BaseModel):
        tools: list[ToolDefinition] = []
        name: str = ""

        @model_validator(mode="after")
        def _named(self) -> Checked:
            return self

    class ToolsChecked(BaseModel):
        tools: list[ToolDefinition] = []

        @field_validator("tools")
        @classmethod
        def _few(cls, value: list[ToolDefinition]) -> list[ToolDefinition]:
            return value

    class AllChecked(BaseModel):
        tools: list[ToolDefinition] = []

        @field_validator("*")
        @classmethod
        def _any(cls, value: Any) -> Any:
            return value

    class NameChecked(BaseModel):  # a validator of another field alone is no obstacle
        tools: list[ToolDefinition] = []
        name: str = ""

        @field_validator("name")
        @classmethod
        def _name(cls, value: str) -> str:
            return value

    class Untyped(BaseModel):
        tools: list[Any] = []

    body = b'{"tools": [{"function": {"name": "x"}}]}'
    for model, why in ((Checked, "validates across fields"), (ToolsChecked, "validates across fields"),
                       (AllChecked, "validates across fields"), (Untyped, "has no tools")):
        with pytest.raises(TypeError, match=f"{model.__name__} {why}"):
            SharedTools().decode(model, body)
    assert SharedTools().decode(NameChecked, body).tools[0].function.name == "x"


def test_one_decoder_shares_a_list_and_keeps_so_many():
    shared = SharedTools(size=2)
    bodies = [_body([{"function": {"name": f"tool_{n}"}}], False, {}, " ", None) for n in range(4)]
    one, two = shared.decode(TraceCaptured, bodies[0]), shared.decode(TraceCaptured, bodies[0])
    assert one.tools is two.tools
    for body in bodies:
        shared.decode(TraceCaptured, body)
    assert shared.decode(TraceCaptured, bodies[0]).tools is not one.tools  # pushed out by the others


def test_a_tools_key_inside_a_later_field_is_not_the_one_cut():
    tools = [{"type": "function", "function": {"name": "check_availability"}}]
    text = json.dumps({k: v for k, v in BASE.items() if k not in ("tools", "metadata")})[:-1]
    body = (text + f', "tools": {json.dumps(tools)}, "metadata": {{"tools": {json.dumps(tools)}}}}}').encode()
    assert TraceCaptured.decode_json(body) == TraceCaptured.model_validate_json(body)


def test_a_spelled_out_key_beside_a_nested_tools_key_is_read_whole():
    """``"\u0074ools"`` is the key ``tools`` too; the ``"tools"`` written plainly is then another one."""
    tools = [{"type": "function", "function": {"name": "check_availability"}}]
    other = [{"type": "function", "function": {"name": "check_availabilitx"}}]  # as long: cut, it parses
    text = json.dumps({k: v for k, v in BASE.items() if k not in ("tools", "metadata")})[:-1]
    body = (text + f', "metadata": {{"tools": {json.dumps(other)}}}, "\\u0074ools": {json.dumps(tools)}}}').encode()
    decoded = TraceCaptured.decode_json(body)
    assert decoded == TraceCaptured.model_validate_json(body)
    assert decoded.tools[0].function.name == "check_availability" and decoded.metadata == {"tools": other}


def test_what_is_derived_from_a_shared_list_is_found_by_its_tools_identity_within_a_bound():
    from distillery_contracts.shared_tools import ByIdentity

    shared = SharedTools()
    body = _body([{"function": {"name": "book"}}], False, {}, " ", None)
    one, two = shared.decode(TraceCaptured, body), shared.decode(TraceCaptured, body)
    equal_not_same = TraceCaptured.model_validate_json(body).tools
    derived: ByIdentity[str] = ByIdentity(size=2)
    assert derived.get(one.tools) is None
    assert derived.put(one.tools, "written once") == "written once"
    assert derived.get(two.tools) == "written once"
    assert derived.get(equal_not_same) is None and equal_not_same == one.tools
    derived.put(equal_not_same, "its own")
    assert (derived.get(one.tools), derived.get(equal_not_same), len(derived)) == ("written once", "its own", 2)
    derived.put(list(reversed([*one.tools, *equal_not_same])), "a third")  # past the bound: the rest go
    assert (derived.get(one.tools), len(derived)) == (None, 1)
    derived.clear()
    assert len(derived) == 0


def test_a_spelled_out_key_beside_a_nested_key_with_the_same_list_leaves_the_nested_one():
    """The one plain ``"tools"`` is then the nested key, and its list the same bytes as the event's."""
    tools = [{"type": "function", "function": {"name": "check_availability"}}]
    text = json.dumps({k: v for k, v in BASE.items() if k not in ("tools", "metadata")})[:-1]
    body = (text + f', "metadata": {{"tools": {json.dumps(tools)}}}, "\\u0074ools": {json.dumps(tools)}}}').encode()
    decoded = TraceCaptured.decode_json(body)
    assert decoded == TraceCaptured.model_validate_json(body)
    assert decoded.metadata == {"tools": tools} and decoded.tools[0].function.name == "check_availability"

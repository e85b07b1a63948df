"""The compatibility rules flag breaking schema changes and let additive ones through."""

import copy

import pytest

from distillery_contracts import TraceCaptured
from distillery_contracts.compat import breaking_changes, registry_breaking_changes
from distillery_contracts.registry import all_topic_specs
from distillery_contracts.schemagen import registry_document

OLD = TraceCaptured.model_json_schema()


@pytest.fixture
def new():
    return copy.deepcopy(OLD)


def test_an_unchanged_schema_has_no_breaking_change(new):
    assert breaking_changes(OLD, new) == []


def test_adding_an_optional_property_is_fine(new):
    new["properties"]["voice_id"] = {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": None,
    }
    new["$defs"]["Usage"]["properties"]["audio_tokens"] = {"type": "integer"}
    assert breaking_changes(OLD, new) == []


def test_adding_an_enum_value_is_fine(new):
    new["$defs"]["ObservationLevel"]["enum"].append("FATAL")
    assert breaking_changes(OLD, new) == []


def test_a_removed_property_is_breaking(new):
    del new["properties"]["latency_ms"]
    assert breaking_changes(OLD, new) == ["TraceCaptured.latency_ms: property removed"]


def test_a_retyped_property_is_breaking(new):
    new["properties"]["prompt_version"]["anyOf"][0] = {"type": "string"}
    assert breaking_changes(OLD, new) == [
        "TraceCaptured.prompt_version: changed type from integer | null to null | string"
    ]


def test_a_retyped_property_inside_nested_defs_is_breaking(new):
    new["$defs"]["Usage"]["properties"]["input_tokens"]["anyOf"][0]["type"] = "string"
    new["$defs"]["FunctionCall"]["properties"]["arguments"]["type"] = "object"
    problems = breaking_changes(OLD, new)
    assert (
        "TraceCaptured.usage.input_tokens: changed type from integer | null to null | string"
        in problems
    )
    assert any(
        p.startswith("TraceCaptured.input_messages[].tool_calls[].function.arguments: changed type")
        for p in problems
    )


def test_a_property_that_becomes_required_is_breaking(new):
    new["required"].append("session_id")
    new["required"].append("language")
    new["properties"]["language"] = {"type": "string"}
    assert breaking_changes(OLD, new) == [
        "TraceCaptured.language: new property became required",
        "TraceCaptured.session_id: optional property became required",
    ]


def test_a_removed_enum_value_is_breaking(new):
    new["$defs"]["ObservationLevel"]["enum"].remove("DEBUG")
    assert breaking_changes(OLD, new) == ["TraceCaptured.level: enum value 'DEBUG' removed"]


def test_a_tightened_constraint_is_breaking(new):
    new["$defs"]["ModelParameters"]["properties"]["temperature"]["anyOf"][0]["maximum"] = 1.0
    assert breaking_changes(OLD, new) == [
        "TraceCaptured.model_parameters.temperature: new constraint maximum 1.0"
    ]
    new["$defs"]["Usage"]["properties"]["input_tokens"]["anyOf"][0]["minimum"] = 1
    assert "TraceCaptured.usage.input_tokens: minimum tightened from 0 to 1" in breaking_changes(
        OLD, new
    )


def test_a_removed_definition_field_reached_through_a_map_is_breaking():
    old = {
        "title": "T",
        "type": "object",
        "properties": {"m": {"type": "object", "additionalProperties": {"$ref": "#/$defs/M"}}},
        "$defs": {"M": {"title": "M", "type": "object", "properties": {"n": {"type": "integer"}}}},
    }
    new = copy.deepcopy(old)
    del new["$defs"]["M"]["properties"]["n"]
    assert breaking_changes(old, new) == ["T.m{}.n: property removed"]


def test_recursive_definitions_terminate():
    node = {
        "title": "Node",
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
    }
    schema = {"$ref": "#/$defs/Node", "$defs": {"Node": node}}
    assert breaking_changes(schema, copy.deepcopy(schema)) == []


def test_registry_changes_that_break_consumers_are_reported():
    old = registry_document(all_topic_specs())
    new = copy.deepcopy(old)
    topics = new["topics"]
    del topics["distillery.datasets.built.v1"]
    topics["distillery.traces.raw.v1"]["key"] = "trace_id"
    topics["distillery.finetune.jobs.v1"]["partitions"] = 1
    del topics["distillery.commands.rollout.v1"]["events"]["PauseRollout"]
    assert registry_breaking_changes(old, new) == [
        "topic distillery.traces.raw.v1: key changed from 'session_id (trace_id without a session)' "
        "to 'trace_id'",
        "topic distillery.datasets.built.v1: removed",
        "topic distillery.finetune.jobs.v1: partitions reduced from 3 to 1",
        "topic distillery.commands.rollout.v1: event PauseRollout removed",
    ]


def test_adding_a_topic_or_partitions_is_fine():
    old = registry_document(all_topic_specs())
    new = copy.deepcopy(old)
    new["topics"]["distillery.traces.raw.v1"]["partitions"] = 24
    new["topics"]["distillery.traces.raw.v2"] = new["topics"]["distillery.traces.raw.v1"]
    assert registry_breaking_changes(old, new) == []

"""Signatures are an additive change: payloads written before them still read, and what a
signature covers is fixed byte for byte."""

from __future__ import annotations

import json

from distillery_contracts.commands import AdvanceRollout
from distillery_contracts.compat import breaking_changes
from distillery_contracts.routing import RouteTableUpdated
from distillery_contracts.samples import sample_route_table
from distillery_contracts.signatures import signed_message


def test_a_table_and_a_command_written_before_signatures_still_read_as_unsigned():
    table = json.loads(sample_route_table().model_dump_json(exclude={"signature"}))
    assert RouteTableUpdated.model_validate(table).signature is None
    command = AdvanceRollout.model_validate({"rollout_id": "ro-1", "requested_by": "alice"})
    assert command.signature is None


def test_the_signature_field_breaks_no_reader():
    for event in (RouteTableUpdated, AdvanceRollout):
        before = event.model_json_schema()
        del before["properties"]["signature"]
        assert breaking_changes(before, event.model_json_schema()) == []


def test_a_tables_signed_content_is_its_routed_fields_only_in_canonical_json():
    table = sample_route_table(version=3)
    content = table.signed_content()
    assert sorted(content) == ["arms", "rollout_id", "route", "updated_at", "version"]
    assert sorted(content["arms"][0]) == ["deployment", "model", "name", "provider", "weight"]
    message = signed_message("RouteTableUpdated", {"b": 1, "a": "é"})
    assert message == 'distillery-signature-v1\nRouteTableUpdated\n{"a":"é","b":1}'.encode()


def test_a_tables_signed_message_is_fixed_byte_for_byte():
    """The router verifies with its own copy of these lines: ``router/tests/test_table_signatures.py``
    holds the same table and bytes."""
    table = RouteTableUpdated.model_validate({
        "route": "voice-agent", "version": 7, "rollout_id": "ro-0003", "updated_at": "2026-12-07T04:00:00Z",
        "arms": [{"name": "teacher", "model": "gpt-4.1", "provider": "openai", "deployment": None, "weight": 10.0},
                 {"name": "student", "model": "clinic-ü-v3", "provider": "vllm", "deployment": "lora-3",
                  "weight": 90.0}],
    })
    assert signed_message("RouteTableUpdated", table.signed_content()) == (
        'distillery-signature-v1\nRouteTableUpdated\n{"arms":[{"deployment":null,"model":"gpt-4.1","name":"teacher",'
        '"provider":"openai","weight":10.0},{"deployment":"lora-3","model":"clinic-ü-v3","name":"student",'
        '"provider":"vllm","weight":90.0}],"rollout_id":"ro-0003","route":"voice-agent",'
        '"updated_at":"2026-12-07T04:00:00Z","version":7}').encode()

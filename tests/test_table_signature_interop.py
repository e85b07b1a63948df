"""The router verifies what the controller signs: the two copies of the signed message (the
contracts' and the router's, which depends on neither) must agree byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime

from distillery_contracts.routing import RouteArm, RouteTableUpdated
from distillery_router import RouteTable, TableKeys
from distillery_runtime.signing import CONTROLLER, SigningKey


def test_a_table_signed_by_the_controller_verifies_in_the_router_after_travelling_as_json():
    key = SigningKey.generate("rollout-controller", CONTROLLER)
    table = RouteTableUpdated(
        route="voice-agent", version=12, rollout_id="ro-0003",
        arms=[RouteArm(name="candidate", model="ft:gpt-4o-mini:clinic::s2", provider="openai", weight=33.3),
              RouteArm(name="production", model="ft:gpt-4o-mini:clinic::s1", provider="azure",
                       deployment="d-1", weight=56.7),
              RouteArm(name="teacher", model="gpt-4.1", provider="openai", weight=10)],
        updated_at=datetime(2026, 12, 2, 17, 0, 0, 123456, tzinfo=UTC))
    received = RouteTable.model_validate_json(key.sign(table).model_dump_json())
    keys = TableKeys.from_entries([key.trusted().as_dict()])

    assert keys.refusal(received) is None
    assert keys.refusal(received.model_copy(update={"version": 13})) == (
        "table for route 'voice-agent' version 13 with a bad signature")

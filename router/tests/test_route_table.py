"""RouteTable parses what the controller publishes and refuses tables that cannot route."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from distillery_router import RouteTable

CONTROLLER_BODY = {
    "route": "voice-agent",
    "version": 7,
    "rollout_id": None,
    "updated_at": "2026-11-28T10:15:00+00:00",
    "stage": "50%",
    "arms": [
        {"name": "candidate", "model": "ft:gpt-4o-mini:acme:c2", "provider": "azure",
         "deployment": "student-c2", "weight": 50.0, "extra": "ignored"},
        {"name": "production", "model": "ft:gpt-4o-mini:acme:c1", "provider": "azure",
         "deployment": "student-c1", "weight": 40.0},
        {"name": "teacher", "model": "gpt-4.1", "provider": "openai", "deployment": None, "weight": 10.0},
    ],
}


def body_with(**changes: object) -> bytes:
    return json.dumps({**CONTROLLER_BODY, **changes}).encode()


def test_parses_the_controllers_json_and_keeps_the_arm_order() -> None:
    table = RouteTable.model_validate_json(body_with())

    assert [arm.name for arm in table.arms] == ["candidate", "production", "teacher"]
    assert table.arm("candidate").deployment == "student-c2"
    assert table.version == 7 and table.rollout_id is None
    assert table.updated_at == datetime(2026, 11, 28, 10, 15, tzinfo=UTC)


def test_refuses_weights_that_do_not_sum_to_100_and_lists_them() -> None:
    arms = [dict(arm) for arm in CONTROLLER_BODY["arms"]]
    arms[0]["weight"] = 60.0

    with pytest.raises(ValidationError, match=r"weights must sum to 100, got 110 \(candidate=60"):
        RouteTable.model_validate_json(body_with(arms=arms))


def test_refuses_an_arm_name_used_twice() -> None:
    arms = [dict(arm) for arm in CONTROLLER_BODY["arms"]]
    arms[1]["name"] = "candidate"

    with pytest.raises(ValidationError, match=r"arm names must be unique, repeated: \['candidate'\]"):
        RouteTable.model_validate_json(body_with(arms=arms))


@pytest.mark.parametrize("weight", [-5.0, 105.0])
def test_refuses_a_weight_outside_0_to_100(weight: float) -> None:
    arms = [dict(arm) for arm in CONTROLLER_BODY["arms"]]
    arms[0]["weight"] = weight

    with pytest.raises(ValidationError, match="weight"):
        RouteTable.model_validate_json(body_with(arms=arms))


def test_refuses_a_table_without_arms() -> None:
    with pytest.raises(ValidationError, match="arms"):
        RouteTable.model_validate_json(body_with(arms=[]))


def test_asking_for_a_missing_arm_names_the_arms_there_are() -> None:
    table = RouteTable.model_validate_json(body_with())

    with pytest.raises(KeyError, match=r"no arm 'student'.*'candidate', 'production', 'teacher'"):
        table.arm("student")


def test_reads_the_contracts_route_table_updated_payload() -> None:
    routing = pytest.importorskip("distillery_contracts.routing")
    event = routing.RouteTableUpdated.model_validate_json(body_with())

    table = RouteTable.model_validate_json(event.model_dump_json())

    assert [(a.name, a.weight) for a in table.arms] == [(a.name, a.weight) for a in event.arms]
    assert (table.route, table.version) == (event.route, event.version)

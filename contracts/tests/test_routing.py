"""The routing table refuses weights that do not add up, and keeps its arm order."""

import pytest
from pydantic import ValidationError

from distillery_contracts import RouteTableUpdated
from distillery_contracts.samples import sample_rollout_decided, sample_route_table


def _arm(name: str, weight: float) -> dict:
    return {"name": name, "model": f"model-{name}", "provider": "openai", "weight": weight}


def test_weights_must_add_up_to_one_hundred():
    with pytest.raises(ValidationError, match="add up to 100 percent, got 95"):
        sample_route_table(arms=[_arm("candidate", 20), _arm("teacher", 75)])


def test_float_rounding_within_tolerance_is_accepted():
    table = sample_route_table(arms=[_arm("a", 100 / 3), _arm("b", 100 / 3), _arm("c", 100 / 3)])
    assert len(table.arms) == 3


def test_a_weight_outside_zero_to_one_hundred_is_refused():
    with pytest.raises(ValidationError):
        sample_route_table(arms=[_arm("candidate", 110), _arm("teacher", -10)])


def test_arm_names_are_unique():
    with pytest.raises(ValidationError, match="unique"):
        sample_route_table(arms=[_arm("teacher", 50), _arm("teacher", 50)])


def test_arm_order_is_the_bucket_layout_and_survives_json():
    arms = [_arm("candidate", 90), _arm("production", 0), _arm("teacher", 10)]
    table = sample_route_table(arms=arms)
    again = RouteTableUpdated.model_validate_json(table.model_dump_json())
    assert [a.name for a in again.arms] == ["candidate", "production", "teacher"]
    assert table.event_id() == "clinic-voice:v3" and table.partition_key() == "clinic-voice"


def test_rollout_decision_weights_must_add_up_too():
    with pytest.raises(ValidationError, match="add up to 100"):
        sample_rollout_decided(weights={"candidate": 50.0, "teacher": 40.0})

"""Builders shared by the router's tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from distillery_router import Arm, RouteTable

MODELS = {
    "student": "ft:gpt-4o-mini:distillery:s1",
    "candidate": "ft:gpt-4o-mini:distillery:c2",
    "production": "ft:gpt-4o-mini:distillery:c1",
    "teacher": "gpt-4.1",
}

TableFactory = Callable[..., RouteTable]


def build_table(route: str = "voice-agent", version: int = 1, **weights: float) -> RouteTable:
    """A table whose arms are the keyword arguments, in the order given."""
    arms = tuple(
        Arm(name=name, model=MODELS.get(name, name), provider="openai", weight=weight)
        for name, weight in weights.items()
    )
    return RouteTable(
        route=route, version=version, rollout_id="ro-1", updated_at=datetime.now(UTC), arms=arms
    )


@pytest.fixture
def table_of() -> TableFactory:
    return build_table

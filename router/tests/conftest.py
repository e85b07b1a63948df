"""Builders and waits shared by the router's tests."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from distillery_router import Arm, RouteTable, Router

sys.path.insert(0, str(Path(__file__).parent))  # tests import routing_api by name

MODELS = {
    "student": "ft:gpt-4o-mini:distillery:s1",
    "candidate": "ft:gpt-4o-mini:distillery:c2",
    "production": "ft:gpt-4o-mini:distillery:c1",
    "teacher": "gpt-4.1",
}

TableFactory = Callable[..., RouteTable]
Eventually = Callable[..., Awaitable[None]]


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


async def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    """Return once `predicate` holds; AssertionError when it still does not after `timeout` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.fixture
def eventually() -> Eventually:
    return wait_until


@pytest.fixture
def api():  # noqa: ANN201 - routing_api.FakeRoutingApi
    from routing_api import FakeRoutingApi

    return FakeRoutingApi()


@pytest.fixture
def router() -> Router:
    return Router()

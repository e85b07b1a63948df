"""GET /v1/routes/{route} reads through a cache: bounded, so a client asking for random route
names can neither grow the controller's memory nor push the real routes out of it."""

from __future__ import annotations

from collections import Counter

from distillery_contracts.samples import sample_route_table
from distillery_rollout_controller.http import RouteCache

KNOWN = "clinic-voice"


class FakeViews:
    """The one read the cache makes, counting what it was asked."""

    def __init__(self) -> None:
        self.asked: Counter[str] = Counter()

    async def route_table(self, route: str):
        self.asked[route] += 1
        return sample_route_table() if route == KNOWN else None


async def test_unknown_route_names_are_remembered_only_up_to_the_bound():
    views = FakeViews()
    cache = RouteCache(views, max_age_s=60, max_routes=50)

    for n in range(1_000):
        assert await cache.get(f"probe-{n}") is None

    assert len(cache) == 50
    assert await cache.get("probe-999") is None and views.asked["probe-999"] == 1  # recent: still cached
    assert await cache.get("probe-0") is None and views.asked["probe-0"] == 2  # oldest: read again


async def test_a_flood_of_unknown_names_does_not_push_a_real_route_out():
    views = FakeViews()
    cache = RouteCache(views, max_age_s=60, max_routes=50)
    assert (await cache.get(KNOWN)).version == 3

    for n in range(1_000):
        await cache.get(f"probe-{n}")

    assert (await cache.get(KNOWN)).version == 3
    assert views.asked[KNOWN] == 1


async def test_a_name_no_route_can_have_is_not_looked_up():
    views = FakeViews()
    cache = RouteCache(views, max_age_s=60)

    assert await cache.get("clinic\x00voice") is None  # PostgreSQL cannot even hold it
    assert await cache.get("x" * 1_000) is None

    assert views.asked == Counter()

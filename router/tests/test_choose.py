"""choose(): sticky, monotone, accurate to the weights, and clear about unknown routes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from distillery_router import Arm, RouteTable, Router, UnknownRoute, bucket_of, choose, default_router

TableFactory = Callable[..., RouteTable]

ROUTE = "voice-agent"
STEPS = (10, 25, 50, 75, 90)
CALL_IDS = [f"call-{n:07d}" for n in range(100_000)]


def assignments(router: Router, call_ids: list[str]) -> dict[str, str]:
    return {call_id: router.choose(ROUTE, call_id).name for call_id in call_ids}


def test_the_same_call_id_always_gets_the_same_arm(table_of: TableFactory) -> None:
    table = table_of(student=50, teacher=50)
    first, second = Router([table]), Router([table])

    for call_id in CALL_IDS[:5_000]:
        arm = first.choose(ROUTE, call_id)
        assert first.choose(ROUTE, call_id) == arm
        assert second.choose(ROUTE, call_id) == arm


def test_the_same_call_id_lands_in_the_same_bucket_in_another_process() -> None:
    # Python's own hash() is salted per process; the router must not depend on it.
    script = (
        "from distillery_router import bucket_of;"
        "print(','.join(str(bucket_of('voice-agent', f'call-{n:07d}')) for n in range(200)))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    output = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout

    assert output.strip().split(",") == [str(bucket_of(ROUTE, c)) for c in CALL_IDS[:200]]


def test_the_bucket_function_is_pinned_so_a_release_never_reshuffles_live_calls() -> None:
    assert bucket_of("voice-agent", "call-0001") == 4885
    assert bucket_of("voice-agent", "call-0002") == 2430
    assert bucket_of("support", "call-0001") == 3144
    assert bucket_of("voice-agent", "c8f1e2d4-5b6a-4c3d-9e8f-7a6b5c4d3e2f") == 2146


def test_raising_the_students_weight_never_moves_a_call_back_to_the_teacher(
    table_of: TableFactory,
) -> None:
    previous: dict[str, str] | None = None
    for version, weight in enumerate(STEPS, start=1):
        router = Router([table_of(version=version, student=weight, teacher=100 - weight)])
        current = assignments(router, CALL_IDS[:20_000])
        if previous is not None:
            moved_back = [c for c, arm in previous.items() if arm == "student" and current[c] != "student"]
            assert moved_back == []
        previous = current


def test_raising_the_candidate_in_a_three_arm_layout_takes_calls_only_from_production(
    table_of: TableFactory,
) -> None:
    previous: dict[str, str] | None = None
    for version, weight in enumerate(STEPS, start=1):
        table = table_of(version=version, candidate=weight, production=90 - weight, teacher=10)
        current = assignments(Router([table]), CALL_IDS[:20_000])
        if previous is not None:
            changed = {(previous[c], current[c]) for c in current if previous[c] != current[c]}
            assert changed == {("production", "candidate")}
        previous = current


@pytest.mark.parametrize(
    "weights",
    [
        {"student": 10, "teacher": 90},
        {"student": 25, "teacher": 75},
        {"student": 90, "teacher": 10},
        {"candidate": 50, "production": 40, "teacher": 10},
        {"candidate": 100 / 3, "production": 100 / 3, "teacher": 100 / 3},
    ],
    ids=["10-90", "25-75", "90-10", "50-40-10", "thirds"],
)
def test_the_observed_share_over_100000_calls_is_within_one_point_of_each_weight(

    weights: dict[str, float],
    table_of: TableFactory,
) -> None:
    router = Router([table_of(**weights)])
    counts = dict.fromkeys(weights, 0)
    for call_id in CALL_IDS:
        counts[router.choose(ROUTE, call_id).name] += 1

    for name, weight in weights.items():
        assert abs(100 * counts[name] / len(CALL_IDS) - weight) < 1.0, (name, counts)


def test_arms_occupy_consecutive_buckets_in_table_order(table_of: TableFactory) -> None:
    router = Router([table_of(candidate=25, production=65, teacher=10)])

    for call_id in CALL_IDS[:5_000]:
        bucket = bucket_of(ROUTE, call_id)
        expected = "candidate" if bucket < 2_500 else "production" if bucket < 9_000 else "teacher"
        assert router.choose(ROUTE, call_id).name == expected


def test_an_arm_with_zero_weight_gets_no_call(table_of: TableFactory) -> None:
    router = Router([table_of(candidate=0, production=90, teacher=10)])

    names = {router.choose(ROUTE, call_id).name for call_id in CALL_IDS[:20_000]}

    assert names == {"production", "teacher"}


def test_the_chosen_arm_carries_what_the_caller_needs_to_call_the_model(
    table_of: TableFactory,
) -> None:
    router = Router([table_of(student=100)])

    arm = router.choose(ROUTE, "call-1")

    assert (arm.name, arm.model, arm.provider) == ("student", "ft:gpt-4o-mini:distillery:s1", "openai")


def test_an_unknown_route_raises_an_error_naming_the_known_routes(table_of: TableFactory) -> None:
    router = Router([table_of(student=90, teacher=10)])

    with pytest.raises(UnknownRoute, match=r"no routing table for route 'billing'.*voice-agent"):
        router.choose("billing", "call-1")


def test_an_unknown_route_goes_to_the_default_arm_when_one_is_configured() -> None:
    fallback = Arm(name="teacher", model="gpt-4.1", provider="openai", weight=100)
    router = Router(default_arm=fallback)

    assert router.choose("billing", "call-1") == fallback


def test_an_empty_call_id_is_refused_because_it_could_not_be_sticky(
    table_of: TableFactory,
) -> None:
    router = Router([table_of(student=90, teacher=10)])

    with pytest.raises(ValueError, match="call_id must be a non-empty string"):
        router.choose(ROUTE, "")


def test_an_older_version_never_replaces_a_newer_table(table_of: TableFactory) -> None:
    router = Router([table_of(version=5, student=75, teacher=25)])

    assert router.update(table_of(version=4, student=10, teacher=90)) is False
    assert router.update(table_of(version=5, student=10, teacher=90)) is False
    assert router.table(ROUTE).arm("student").weight == 75

    assert router.update(table_of(version=6, student=90, teacher=10)) is True
    assert router.table(ROUTE).version == 6


def test_tables_for_different_routes_are_independent(table_of: TableFactory) -> None:
    router = Router([table_of(student=100), table_of(route="support", teacher=100)])

    assert router.choose(ROUTE, "call-1").name == "student"
    assert router.choose("support", "call-1").name == "teacher"
    assert router.routes == ["support", "voice-agent"]


def test_module_level_choose_routes_with_the_process_wide_router(
    table_of: TableFactory,
) -> None:
    default_router().update(table_of(route="module-level-test", version=1, teacher=100))

    assert choose("module-level-test", "call-1").name == "teacher"

"""What the router tells a person: the tables it holds, the stale tables it ignored, and why a
call could not be routed (the exact wording an operator searches logs and errors for)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from distillery_router import RouteTable, Router, UnknownRoute

TableFactory = Callable[..., RouteTable]


def test_the_router_lists_every_table_in_force_by_route_and_none_for_an_unknown_one(
    table_of: TableFactory,
) -> None:
    voice, support = table_of(student=100), table_of(route="support", teacher=100)
    router = Router([voice, support])

    assert router.tables() == [support, voice]
    assert router.table("voice-agent") == voice
    assert router.table("billing") is None


def test_an_older_table_is_logged_as_ignored_and_a_repeated_one_silently(
    table_of: TableFactory, caplog: pytest.LogCaptureFixture
) -> None:
    router = Router([table_of(version=5, student=100)])
    with caplog.at_level(logging.INFO, logger="distillery_router.router"):
        router.update(table_of(version=5, student=100))
        assert caplog.messages == []
        router.update(table_of(version=4, student=100))
    assert caplog.messages == ["ignored routing table voice-agent v4: v5 is in force"]


def test_an_unknown_route_error_carries_the_route_and_says_what_to_check() -> None:
    with pytest.raises(UnknownRoute) as raised:
        Router().choose("billing", "call-1")

    assert raised.value.route == "billing"
    assert str(raised.value) == (
        "no routing table for route 'billing' (known routes: none yet); "
        "is the follower running, or should the router have a default arm?")


def test_an_empty_call_id_is_refused_in_words_that_say_why(table_of: TableFactory) -> None:
    with pytest.raises(ValueError) as raised:
        Router([table_of(student=100)]).choose("voice-agent", "")
    assert str(raised.value) == "call_id must be a non-empty string: an empty id would not be sticky"

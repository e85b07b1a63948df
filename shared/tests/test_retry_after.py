"""Retry-After as every client of the project reads it."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from distillery_runtime.retry_after import retry_after_s

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_milliseconds_come_first_then_seconds():
    assert retry_after_s({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_s({"retry-after": "7"}) == 7.0


def test_an_http_date_is_the_time_left_until_it():
    assert retry_after_s({"retry-after": "Mon, 02 Nov 2026 09:00:30 GMT"}, now=NOW) == 30.0
    assert retry_after_s({"retry-after": "Mon, 02 Nov 2026 08:59:00 GMT"}, now=NOW) == 0.0


def test_nothing_readable_leaves_the_wait_to_the_caller():
    assert retry_after_s({}) is None
    assert retry_after_s({"retry-after": "soon"}) is None
    assert retry_after_s({"retry-after-ms": "", "retry-after": ""}) is None
    assert retry_after_s({"retry-after-ms": "later", "retry-after": "2"}) == 2.0


def test_a_negative_wait_is_no_wait_and_header_names_are_case_blind():
    assert retry_after_s({"retry-after": "-3"}) == 0.0
    assert retry_after_s(httpx.Headers({"Retry-After-Ms": "250"})) == 0.25

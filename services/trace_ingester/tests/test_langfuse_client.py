"""The HTTP reader against scripted Langfuse answers: pages, retries, Retry-After, bad keys."""

from __future__ import annotations

import base64
import time
from datetime import timedelta

import httpx
import pytest

from distillery_trace_ingester.adapters.langfuse_client import (
    HttpLangfuseReader,
    LangfuseConfigError,
    LangfuseError,
    retry_after_seconds,
)
from distillery_trace_ingester.config import LangfuseProject
from distillery_trace_ingester.samples import T0, sample_generation

PROJECT = LangfuseProject(project_id="clinic", host="http://langfuse.test", public_key="pk-lf-1",
                          secret_key="sk-lf-1")


def reader(handler, **kwargs) -> HttpLangfuseReader:
    return HttpLangfuseReader(PROJECT, transport=httpx.MockTransport(handler), wait_initial_s=0.01,
                              wait_max_s=0.05, **kwargs)


async def collect(r: HttpLangfuseReader) -> list[list[dict]]:
    return [page async for page in r.generations(T0, T0 + timedelta(hours=1))]


async def test_walks_the_cursor_pages_asking_only_for_generations_in_the_range():
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        cursor = request.url.params.get("cursor")
        if cursor is None:
            return httpx.Response(200, json={"data": [sample_generation(2)], "meta": {"cursor": "c2"}})
        return httpx.Response(200, json={"data": [sample_generation(1)], "meta": {}})

    pages = await collect(reader(answer, page_size=1))

    assert [[o["id"] for o in p] for p in pages] == [["obs-00002"], ["obs-00001"]]
    params = seen[0].url.params
    assert seen[0].url.path == "/api/public/v2/observations"
    assert (params["type"], params["limit"]) == ("GENERATION", "1")
    assert (params["fromStartTime"], params["toStartTime"]) == ("2026-03-02T09:00:00.000Z", "2026-03-02T10:00:00.000Z")
    assert set(params["fields"].split(",")) == {"basic", "time", "io", "metadata", "model", "usage",
                                                 "prompt", "trace_context"}
    assert seen[0].headers["authorization"] == "Basic " + base64.b64encode(b"pk-lf-1:sk-lf-1").decode()
    assert seen[1].url.params["cursor"] == "c2"


async def test_a_429_is_retried_after_exactly_the_retry_after_it_names():
    calls = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "1"}, json={"message": "slow down"})
        return httpx.Response(200, json={"data": [], "meta": {}})

    await collect(reader(answer))

    assert len(calls) == 2 and calls[1] - calls[0] >= 0.95


async def test_server_errors_are_retried_with_backoff_until_an_answer_comes():
    statuses = iter([500, 502, 503, 200])

    def answer(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        return httpx.Response(status, json={"data": [sample_generation(1)], "meta": {}} if status == 200 else {})

    [page] = await collect(reader(answer))
    assert page[0]["id"] == "obs-00001"


async def test_server_errors_that_do_not_stop_become_one_clear_error():
    r = reader(lambda request: httpx.Response(503, json={}), max_attempts=3)
    with pytest.raises(LangfuseError, match="project 'clinic' .* still answers HTTP 503 after 3 attempts"):
        await collect(r)


async def test_wrong_keys_stop_with_the_project_and_what_to_fix():
    r = reader(lambda request: httpx.Response(401, json={"message": "Invalid credentials"}))
    with pytest.raises(LangfuseConfigError, match="refused the API keys of project 'clinic'.*secret_key"):
        await r.check_access()


async def test_a_host_that_is_not_langfuse_is_a_configuration_error():
    r = reader(lambda request: httpx.Response(404, text="Not Found"))
    with pytest.raises(LangfuseConfigError, match="is the host a Langfuse server"):
        await r.check_access()


async def test_scores_are_read_by_timestamp_with_their_subject_page_by_page():
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params)
        if "cursor" not in request.url.params:
            return httpx.Response(200, json={"data": [{"id": "s1"}], "meta": {"limit": 100, "cursor": "n"}})
        return httpx.Response(200, json={"data": [{"id": "s2"}], "meta": {"limit": 100}})

    scores = await reader(answer).scores(T0, T0 + timedelta(minutes=5))

    assert [s["id"] for s in scores] == ["s1", "s2"]
    assert (seen[0]["fields"], seen[0]["limit"], seen[0]["fromTimestamp"]) == (
        "details,subject", "100", "2026-03-02T09:00:00.000Z")


def test_retry_after_may_be_seconds_or_an_http_date():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Mon, 02 Mar 2026 09:00:30 GMT", now=T0) == 30.0
    assert retry_after_seconds("soon") is None


async def test_a_page_with_bytes_that_are_not_utf8_is_read_with_the_replacement_character():
    body = httpx.Response(200, json={"data": [sample_generation(1, name="turn-MARK")], "meta": {}}).content

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body.replace(b"MARK", b"\xff\xfe"),
                              headers={"content-type": "application/json"})

    [[generation]] = await collect(reader(answer))

    assert generation["name"] == "turn-\ufffd\ufffd"

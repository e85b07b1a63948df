"""The Data page over the fake stores: examples of a cleaner version with their Langfuse
trace, rejections filtered by reason with counts, dead letters by topic and reason, and a
republish that puts the message back as it was, only as a named, confirming operator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from recorded_streams import ACCEPTED_TRACE, CLEANER, LETTER_EVENT_ID, fixed_clock, opener
from starlette.applications import Starlette
from starlette.testclient import TestClient

from distillery_console.adapters.health import GroupLag, HealthBoard, ServiceHealth
from distillery_console.adapters.fakes import FakeHealthProbe
from distillery_console.data_views import DataViews
from distillery_console.domain.data import callers_named, trace_url
from distillery_console.http import console_routes
from distillery_console.views import ConsoleViews
from distillery_contracts.registry import TRACES_RAW
from distillery_runtime.signing import SigningKey
from distillery_runtime.uow import FakeUnitOfWork

LANGFUSE = "https://langfuse.clinic.test"


def make_client(fed_store, data_store, *keys, health: HealthBoard | None = None) -> TestClient:  # noqa: ANN001
    views = ConsoleViews(opener(fed_store), calls_per_day=10_000, page_size=50)
    data = DataViews(opener(data_store), page_size=2, langfuse_host=LANGFUSE)
    routes = console_routes(views, FakeUnitOfWork, fixed_clock, refresh_s=5, langfuse_host=LANGFUSE,
                            signers={k.identity: k for k in keys}, data=data, data_store=lambda _: data_store,
                            health=health)
    return TestClient(Starlette(routes=routes), base_url="http://console.test")


@pytest.fixture
def client(fed_store, data_store) -> TestClient:
    return make_client(fed_store, data_store)


def letter_id(data_store) -> str:  # noqa: ANN001
    [letter] = data_store.letter_rows
    return letter


def test_an_accepted_example_links_to_its_trace_in_langfuse(client):
    page = client.get("/data").text
    assert f'<option value="{CLEANER}" selected>' in page
    assert f'href="{LANGFUSE}/project/clinic-prod/traces/{ACCEPTED_TRACE}"' in page
    assert "accepted (2)" in page and "rejected (5)" in page


def test_rejections_are_filtered_by_reason_with_their_counts(client):
    page = client.get("/data?kind=rejected&reason=too_long").text
    assert "hallucination (3)" in page and "too_long (2)" in page
    assert page.count('class="example example-rejected"') == 2
    assert page.count('<span class="verdict bad reason-name">too_long</span>') == 2
    assert "output_tokens 256 == max_tokens 256" in page


def test_examples_come_a_page_at_a_time(client):
    first, second = client.get("/data?kind=rejected").text, client.get("/data?kind=rejected&page=3").text
    assert "page 1 of 3" in first and first.count("example-rejected") == 2
    assert "page 3 of 3" in second and second.count("example-rejected\"") == 1


def test_dead_letters_are_grouped_by_topic_and_reason(client, data_store):
    page = client.get("/data/dead-letters").text
    assert TRACES_RAW in page and "InvalidPayload" in page
    assert f'data-letter="{letter_id(data_store)}"' in page
    assert "Republish to" in page


def test_republishing_puts_the_message_back_on_its_topic_and_records_the_operator(fed_store, data_store):
    ana = SigningKey.generate("ana@clinic")
    client = make_client(fed_store, data_store, ana)
    response = client.post("/data/dead-letters/republish", follow_redirects=False, data={
        "letter_id": letter_id(data_store), "operator": "ana@clinic", "reason": "parser fixed", "confirm": "yes"})
    assert response.status_code == 303
    [message] = data_store.outbox
    assert (message.topic, message.key, message.envelope.event_id) == (TRACES_RAW, "call-dl", LETTER_EVENT_ID)
    assert message.payload == data_store.letter_rows[letter_id(data_store)].original_value.encode()
    page = client.get(response.headers["location"]).text
    assert "republished to" in page and "Republished by <strong class=\"operator\">ana@clinic</strong>" in page


@pytest.mark.parametrize("form", [
    {"operator": "mallory", "reason": "r", "confirm": "yes"},
    {"operator": "ana@clinic", "reason": " ", "confirm": "yes"},
    {"operator": "ana@clinic", "reason": "r", "confirm": "no"},
])
def test_nothing_is_republished_without_a_known_operator_a_reason_and_confirmation(fed_store, data_store, form):
    client = make_client(fed_store, data_store, SigningKey.generate("ana@clinic"))
    response = client.post("/data/dead-letters/republish", data={"letter_id": letter_id(data_store), **form})
    assert response.status_code == 400 and 'role="alert"' in response.text
    assert data_store.outbox == []


def test_a_letter_is_republished_once_and_a_cut_one_never(client, data_store):
    form = {"letter_id": letter_id(data_store), "operator": "ana", "reason": "fixed", "confirm": "yes"}
    assert client.post("/data/dead-letters/republish", data=form, follow_redirects=False).status_code == 303
    again = client.post("/data/dead-letters/republish", data=form)
    assert again.status_code == 400 and "republished by ana already" in again.text
    from dataclasses import replace
    data_store.letter_rows["cut"] = replace(data_store.letter_rows[letter_id(data_store)], letter_id="cut",
                                            original_bytes=10_000_000, republished_at=None)
    cut = client.post("/data/dead-letters/republish", data={**form, "letter_id": "cut"})
    assert cut.status_code == 400 and "only the beginning" in cut.text
    assert len(data_store.outbox) == 1


def test_a_letter_of_the_routing_table_is_never_republished(client, data_store):
    from dataclasses import replace

    from distillery_contracts.registry import ROUTING_TABLE
    data_store.letter_rows["table"] = replace(data_store.letter_rows[letter_id(data_store)], letter_id="table",
                                              source_topic=ROUTING_TABLE)
    response = client.post("/data/dead-letters/republish",
                           data={"letter_id": "table", "operator": "ana", "reason": "r", "confirm": "yes"})
    assert response.status_code == 400 and "only the rollout-controller" in response.text
    assert data_store.outbox == []


def test_a_republish_from_another_site_is_refused(client, data_store):
    response = client.post("/data/dead-letters/republish", headers={"Origin": "https://evil.example"},
                           data={"letter_id": letter_id(data_store), "operator": "ana", "reason": "r", "confirm": "yes"})
    assert response.status_code == 403 and data_store.outbox == []


def test_a_letter_names_the_caller_its_message_names():
    assert callers_named('{"lineage": {"session_id": "s1", "trace_id": "t1"}}') == ("s1", "t1")
    assert callers_named('{"trace_id": "t2"}') == (None, "t2")
    assert callers_named("not json {") == (None, None)


def test_without_a_langfuse_host_there_is_no_trace_link():
    assert trace_url(None, "p", "t") is None
    assert trace_url("https://lf/", "my project", "t/1") == "https://lf/project/my%20project/traces/t%2F1"


async def test_the_overview_shows_each_service_up_or_down_and_each_groups_lag(fed_store, data_store):
    probe = FakeHealthProbe([ServiceHealth("cleaner", True, "ready"),
                             ServiceHealth("evaluator", False, "unreachable: ConnectError")],
                            [GroupLag("distillery.cleaner.1-abc", "distillery.traces.raw.v1", 42)])
    board = HealthBoard(probe)
    client = make_client(fed_store, data_store, health=board)
    assert "Not probed yet." in client.get("/").text
    await board.refresh(datetime(2026, 11, 3, tzinfo=UTC))
    page = client.get("/live").text
    assert '<tr data-service="cleaner" class="pass">' in page and "unreachable: ConnectError" in page
    assert '<tr data-group="distillery.cleaner.1-abc"><td>cleaner</td>' in page and "<td>42</td>" in page
    probe.broker_down = True
    await board.refresh(datetime(2026, 11, 3, tzinfo=UTC))
    assert "Consumer lag unknown: " in client.get("/live").text

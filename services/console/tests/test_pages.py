"""The pages over the fake store: what an operator reads, answers as text, and steering
that sends the CLI's own command only when the operator said who, why, and confirmed."""

from __future__ import annotations

import html

import pytest
from recorded_streams import CYCLE, ITEMS, ROLLOUT, RUN, SCRIPT_ANSWER, fixed_clock, hallucinated, opener
from starlette.applications import Starlette
from starlette.testclient import TestClient

from distillery_console.http import console_routes
from distillery_console.views import ConsoleViews
from distillery_contracts.commands import AbortRollout, PauseRollout
from distillery_contracts.registry import COMMANDS_ROLLOUT
from distillery_runtime.signing import Keyring, SignatureRefused, SigningKey
from distillery_runtime.uow import FakeUnitOfWork


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def client(fed_store, uow) -> TestClient:
    views = ConsoleViews(opener(fed_store), calls_per_day=10_000, page_size=50)
    app = Starlette(routes=console_routes(views, lambda: uow, fixed_clock, refresh_s=5))
    return TestClient(app, base_url="http://console.test")


def test_the_overview_links_the_cycle_and_shows_weights_and_saving(client):
    page = client.get("/").text
    assert f'href="/cycles/{CYCLE}"' in page
    assert "rollout stage 2 (25%)" in page
    assert "25%" in page and "75%" in page
    assert "$270.00" in page  # (0.004 - 0.0031) * 10,000 calls * 30 days


def test_the_cycle_page_shows_the_failing_gate_with_its_interval(client):
    page = client.get(f"/cycles/{CYCLE}").text
    assert "[0.031, 0.094]" in page
    assert "FAILED" in page and "hallucination interval above the threshold" in page


def test_an_unknown_cycle_is_a_404_that_says_so(client):
    response = client.get("/cycles/nope")
    assert response.status_code == 404 and "no cycle &#39;nope&#39;" in response.text


def test_the_failing_filter_lists_only_hallucinated_answers(client):
    page = client.get(f"/evaluations/{RUN}/answers?failing=1").text
    shown = {i for i in range(ITEMS) if f'data-item="golden-{i:04d}"' in page}
    assert shown == {i for i in range(ITEMS) if hallucinated(i)}


def test_a_script_in_a_model_answer_is_rendered_as_text(client):
    page = client.get(f"/evaluations/{RUN}/answers").text
    assert "<script>window" not in page
    assert html.escape("<script>window.pwned = 1</script>", quote=False) in page
    assert SCRIPT_ANSWER not in page


def test_pausing_sends_the_clis_pause_command_as_the_operator(client, uow):
    response = client.post(f"/rollouts/{ROLLOUT}/steer", follow_redirects=False,
                           data={"action": "pause", "operator": "ana@clinic", "reason": "holiday", "confirm": "yes"})
    assert response.status_code == 303
    [sent] = uow.committed
    assert sent.topic == COMMANDS_ROLLOUT
    command = PauseRollout.model_validate_json(sent.payload)
    assert (command.rollout_id, command.requested_by, command.reason) == (ROLLOUT, "ana@clinic", "holiday")


@pytest.mark.parametrize("missing", ["operator", "reason", "confirm"])
def test_nothing_is_sent_without_operator_reason_and_confirmation(client, uow, missing):
    form = {"action": "abort", "operator": "ana@clinic", "reason": "bad answers", "confirm": "yes"}
    form[missing] = "  " if missing != "confirm" else "no"
    response = client.post(f"/rollouts/{ROLLOUT}/steer", data=form)
    assert response.status_code == 400 and 'role="alert"' in response.text
    assert uow.committed == []


def test_an_abort_is_the_abort_command(client, uow):
    client.post(f"/rollouts/{ROLLOUT}/steer",
                data={"action": "abort", "operator": "ana", "reason": "r", "confirm": "yes"})
    assert AbortRollout.model_validate_json(uow.committed[0].payload).requested_by == "ana"


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}])
def test_a_form_posted_from_another_site_is_refused(client, uow, headers):
    response = client.post(f"/rollouts/{ROLLOUT}/steer", headers=headers,
                           data={"action": "pause", "operator": "ana", "reason": "r", "confirm": "yes"})
    assert response.status_code == 403 and uow.committed == []


def signed_client(fed_store, uow, *keys) -> TestClient:  # noqa: ANN001
    views = ConsoleViews(opener(fed_store), calls_per_day=10_000, page_size=50)
    routes = console_routes(views, lambda: uow, fixed_clock, refresh_s=5, signers={k.identity: k for k in keys})
    return TestClient(Starlette(routes=routes), base_url="http://console.test")


def test_with_operator_keys_the_command_is_signed_by_the_chosen_operator(fed_store, uow):
    ana, bo = SigningKey.generate("ana@clinic"), SigningKey.generate("bo@clinic")
    client = signed_client(fed_store, uow, ana, bo)
    assert '<option value="ana@clinic">' in client.get("/").text
    client.post(f"/rollouts/{ROLLOUT}/steer",
                data={"action": "pause", "operator": "bo@clinic", "reason": "check", "confirm": "yes"})
    command = PauseRollout.model_validate_json(uow.committed[0].payload)
    assert Keyring([bo.trusted()]).verify(command).identity == "bo@clinic"
    with pytest.raises(SignatureRefused):
        Keyring([ana.trusted()]).verify(command)


def test_with_operator_keys_an_identity_without_a_key_sends_nothing(fed_store, uow):
    client = signed_client(fed_store, uow, SigningKey.generate("ana@clinic"))
    response = client.post(f"/rollouts/{ROLLOUT}/steer",
                           data={"action": "pause", "operator": "mallory", "reason": "r", "confirm": "yes"})
    assert response.status_code == 400 and "has no key in this console" in response.text
    assert uow.committed == []


def test_the_pages_own_assets_are_named_by_version_and_cached_so_a_load_revalidates_nothing(client):
    from distillery_console import __version__

    page = client.get("/").text
    assert f'/static/console.js?v={__version__}' in page and f'/static/console.css?v={__version__}' in page
    assert "immutable" in client.get(f"/static/console.js?v={__version__}").headers["cache-control"]
    assert client.get("/").headers["cache-control"] == "no-store"

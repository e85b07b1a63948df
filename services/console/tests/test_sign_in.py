"""The console's pages behind its sign-in page, as the service serves them: a browser signs in
with the API token and reads the overview; without it, nothing of the read model shows."""

from __future__ import annotations

import pytest
from recorded_streams import CYCLE, fixed_clock, opener
from starlette.testclient import TestClient

from distillery_console.http import console_routes, signed_in
from distillery_console.views import ConsoleViews
from distillery_runtime.auth import SESSION_COOKIE, BrowserSessions, sign_in_link
from distillery_runtime.health import build_app
from distillery_runtime.uow import FakeUnitOfWork

TOKEN = "console-token"


@pytest.fixture
def client(fed_store) -> TestClient:
    views = ConsoleViews(opener(fed_store), calls_per_day=10_000, page_size=50)
    pages = signed_in(console_routes(views, FakeUnitOfWork, fixed_clock, refresh_s=5),
                      BrowserSessions([TOKEN], max_age_s=12 * 3600))
    app = build_app("console", dict, pages, tokens=[TOKEN], public_routes=True)
    return TestClient(app, base_url="http://console.test")


def test_the_overview_is_behind_the_sign_in_page_which_needs_no_session_for_its_assets(client):
    answer = client.get(f"/cycles/{CYCLE}", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/sign-in?next=%2Fcycles%2F{CYCLE}"
    page = client.get(answer.headers["location"])
    assert "<h1>Sign in</h1>" in page.text and f'value="/cycles/{CYCLE}"' in page.text
    assert "12 hours" in page.text and CYCLE not in page.text.replace(f'value="/cycles/{CYCLE}"', "")
    assert client.get("/static/console.css").status_code == 200  # the sign-in page's own style


def test_a_wrong_token_is_said_so_on_the_page_and_a_right_one_opens_the_pages(client):
    wrong = client.post("/sign-in", data={"token": "console-tokem", "next": "/"})
    assert wrong.status_code == 401 and 'role="alert"' in wrong.text and "console-tokem" not in wrong.text
    right = client.post("/sign-in", data={"token": TOKEN, "next": f"/cycles/{CYCLE}"}, follow_redirects=False)
    assert right.status_code == 303 and TOKEN not in client.cookies[SESSION_COOKIE]
    assert f'href="/cycles/{CYCLE}"' in client.get("/").text
    assert 'action="/sign-out"' in client.get("/").text


def test_the_one_time_link_the_cli_prints_signs_the_local_user_in(client):
    assert client.get(sign_in_link("http://console.test", TOKEN)).url.path == "/"
    assert f'href="/cycles/{CYCLE}"' in client.get("/").text


def test_a_program_with_the_bearer_token_reads_the_overview(client):
    page = client.get("/", headers={"Authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200 and f'href="/cycles/{CYCLE}"' in page.text

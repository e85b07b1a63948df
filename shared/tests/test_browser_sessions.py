"""A service's browser pages: the API token pasted once on a sign-in page, then a session cookie
that is not the token, expires, and cannot be forged; health checks stay open, /metrics takes
only the token, and the sign-in page sends nobody to another site."""

from __future__ import annotations

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from distillery_runtime.auth import (
    LINK_TTL_S,
    SESSION_COOKIE,
    BrowserSessions,
    browser_pages,
    sign_in_link,
)
from distillery_runtime.health import build_app

TOKENS = ["token-a", "token-b"]
HOUR = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def secret(_request) -> PlainTextResponse:
    return PlainTextResponse("a caller's words")


def render(error: str | None, next_path: str) -> str:
    return f"<form>error={error} next={next_path}</form>"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sessions(clock) -> BrowserSessions:
    return BrowserSessions(TOKENS, max_age_s=12 * HOUR, clock=clock)


@pytest.fixture
def http(sessions):
    pages = browser_pages([Route("/", secret), Route("/cycles/{cycle}", secret)], sessions, render)
    app = build_app("console", dict, pages, tokens=TOKENS, public_routes=True)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://console.test")


async def sign_in(http, token: str, next_path: str = "/") -> httpx.Response:
    return await http.post("/sign-in", data={"token": token, "next": next_path})


async def test_a_page_without_a_session_sends_the_browser_to_sign_in_with_its_path(http):
    answer = await http.get("/cycles/c-1?tab=gates")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=%2Fcycles%2Fc-1%3Ftab%3Dgates"
    assert "a caller's words" not in answer.text
    form = await http.get("/sign-in?next=%2Fcycles%2Fc-1")
    assert form.status_code == 200 and "next=/cycles/c-1" in form.text


@pytest.mark.parametrize("wrong", ["token-c", "token-ab", "token-", "token-a-and-more", "", "TOKEN-A"])
async def test_a_wrong_token_is_refused_on_the_page_without_echoing_it(http, wrong):
    answer = await sign_in(http, wrong)
    assert answer.status_code == 401 and "not one this service accepts" in answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    if wrong:
        assert wrong not in answer.text
    assert (await http.get("/")).status_code == 303


async def test_a_good_token_sets_a_strict_httponly_expiring_cookie_that_is_not_the_token(http):
    answer = await sign_in(http, "token-b", "/cycles/c-1")
    assert answer.status_code == 303 and answer.headers["location"] == "/cycles/c-1"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and f"max-age={int(12 * HOUR)}" in cookie
    assert "secure" not in cookie  # plain http: a Secure cookie would never come back
    value = http.cookies[SESSION_COOKIE]
    assert "token-b" not in value and value not in TOKENS
    page = await http.get("/cycles/c-1")
    assert page.status_code == 200 and page.text == "a caller's words"


async def test_over_https_the_cookie_is_secure(sessions):
    pages = browser_pages([Route("/", secret)], sessions, render)
    app = build_app("console", dict, pages, tokens=TOKENS, public_routes=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="https://console.test") as http:
        answer = await sign_in(http, "token-a")
    assert "secure" in answer.headers["set-cookie"].lower()


async def test_an_expired_session_is_sent_back_to_sign_in(http, clock):
    await sign_in(http, "token-a")
    clock.now += 12 * HOUR - 1
    assert (await http.get("/")).status_code == 200
    clock.now += 1
    assert (await http.get("/")).status_code == 303


def forge(value: str, part: int, replacement: str) -> str:
    parts = value.split(".")
    parts[part] = replacement
    return ".".join(parts)


async def test_a_forged_or_altered_cookie_is_refused(http, sessions, clock):
    good = sessions.open_session("token-a")
    assert good is not None
    other = BrowserSessions(["someone-elses-token"], clock=clock).open_session("someone-elses-token")
    expiry = int(good.split(".")[0])
    candidates = [
        "token-a",                                        # the raw token as a cookie
        other,                                            # signed with a token not configured
        forge(good, 0, str(expiry + 24 * 3600 * 365)),    # a later expiry under the old MAC
        forge(good, 1, "another-nonce"),
        forge(good, 2, good.split(".")[2][:-1] + ("B" if good.endswith("A") else "A")),  # one character off
        "1.2", "", "x.y.z", f"{expiry}..{good.split('.')[2]}",
    ]
    for value in candidates:
        http.cookies.set(SESSION_COOKIE, value, domain="console.test")
        assert (await http.get("/")).status_code == 303, value
    http.cookies.set(SESSION_COOKIE, good, domain="console.test")
    assert (await http.get("/")).status_code == 200


async def test_a_cookie_longer_than_the_configured_lifetime_is_refused(clock):
    long_lived = BrowserSessions(TOKENS, max_age_s=48 * HOUR, clock=clock).open_session("token-a")
    assert not BrowserSessions(TOKENS, max_age_s=12 * HOUR, clock=clock).session_valid(long_lived)
    assert BrowserSessions(TOKENS, max_age_s=48 * HOUR, clock=clock).session_valid(long_lived)


async def test_removing_a_token_ends_the_sessions_it_opened(clock):
    value = BrowserSessions(TOKENS, clock=clock).open_session("token-a")
    assert not BrowserSessions(["token-b"], clock=clock).session_valid(value)


@pytest.mark.parametrize("target", ["https://evil.test/", "//evil.test/", "/\\evil.test", "javascript:alert(1)",
                                    "evil.test", "http:/evil.test", "/\t/evil.test", "\\\\evil.test"])
async def test_signing_in_never_sends_the_browser_to_another_site(http, target):
    answer = await sign_in(http, "token-a", target)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    form = await http.get("/sign-in", params={"next": target})
    assert "next=/<" in form.text


async def test_a_sign_in_posted_from_another_site_is_refused(http):
    answer = await http.post("/sign-in", data={"token": "token-a"}, headers={"Origin": "https://evil.test"})
    assert answer.status_code == 403 and SESSION_COOKIE not in answer.headers.get("set-cookie", "")


async def test_a_bearer_token_opens_pages_and_a_wrong_one_is_a_401_not_a_redirect(http):
    assert (await http.get("/", headers={"Authorization": "Bearer token-a"})).text == "a caller's words"
    wrong = await http.get("/", headers={"Authorization": "Bearer token-c"})
    assert wrong.status_code == 401 and "a caller's words" not in wrong.text


async def test_health_stays_open_and_metrics_take_only_the_token(http):
    assert (await http.get("/healthz")).status_code == 200 and (await http.get("/readyz")).status_code == 200
    await sign_in(http, "token-a")
    assert (await http.get("/")).status_code == 200
    assert (await http.get("/metrics")).status_code == 401  # a session cookie is for pages, not scrapers
    assert (await http.get("/metrics", headers={"Authorization": "Bearer token-a"})).status_code == 200


async def test_signing_out_forgets_the_cookie(http):
    await sign_in(http, "token-a")
    answer = await http.post("/sign-out")
    assert answer.status_code == 303 and answer.headers["location"] == "/sign-in"
    assert (await http.get("/")).status_code == 303


async def test_a_one_time_link_signs_in_once_and_only_before_it_expires(http, clock):
    link = sign_in_link("http://console.test/", "token-b", clock=clock)
    path = link.removeprefix("http://console.test")
    assert "token-b" not in link
    answer = await http.get(path)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert (await http.get("/")).status_code == 200
    http.cookies.clear()
    again = await http.get(path)
    assert again.status_code == 401 and "expired or was used" in again.text
    late = sign_in_link("http://console.test", "token-b", clock=clock).removeprefix("http://console.test")
    clock.now += LINK_TTL_S
    assert (await http.get(late)).status_code == 401
    assert (await http.get("/")).status_code == 303


async def test_a_link_signed_with_another_token_or_passed_as_a_cookie_is_refused(http, sessions, clock):
    forged = sign_in_link("http://console.test", "not-configured", clock=clock).removeprefix("http://console.test")
    assert (await http.get(forged)).status_code == 401
    code = sign_in_link("", "token-a", clock=clock).split("once=")[1]
    assert not sessions.session_valid(code)  # a link's code is not a session
    assert sessions.redeem_link(sessions.open_session("token-a")) is None  # nor a session a link

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


def pages_client(sessions: BrowserSessions, routes: list[Route], base_url: str = "http://console.test",
                 open_prefixes: tuple[str, ...] = ()) -> httpx.AsyncClient:
    """A client of a console-like service whose ``routes`` are browser pages behind ``sessions``."""
    pages = browser_pages(routes, sessions, render, open_prefixes=open_prefixes)
    app = build_app("console", dict, pages, tokens=TOKENS, public_routes=True)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=base_url)


@pytest.fixture
def http(sessions):
    return pages_client(sessions, [Route("/", secret), Route("/cycles/{cycle}", secret)])


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
    async with pages_client(sessions, [Route("/", secret)], "https://console.test") as http:
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


async def test_a_cookie_whose_expiry_was_moved_within_the_lifetime_is_refused(http, sessions, clock):
    """The expiry is under the MAC: a browser cannot keep a session alive by rewriting it."""
    good = sessions.open_session("token-a")
    expiry = int(good.split(".")[0])
    clock.now += 11 * HOUR
    for value in (forge(good, 0, str(expiry + int(11 * HOUR))), forge(good, 0, str(expiry - 60))):
        http.cookies.set(SESSION_COOKIE, value, domain="console.test")
        assert (await http.get("/")).status_code == 303, value
    # The same expiry in other digits (int() reads fullwidth ones) is not the value that was signed.
    assert not sessions.session_valid(forge(good, 0, "".join(chr(ord(d) - ord("0") + 0xFF10) for d in str(expiry))))
    http.cookies.set(SESSION_COOKIE, good, domain="console.test")
    assert (await http.get("/")).status_code == 200


def test_a_session_value_is_an_expiry_a_nonce_and_an_hmac_of_both_keyed_with_the_token(clock):
    """The format every replica and every later version must read (computed here without the module)."""
    import base64
    import hashlib
    import hmac

    sessions = BrowserSessions(TOKENS, clock=clock)
    expiry = int(clock.now + HOUR)

    def value(token: bytes, nonce: str, purpose: bytes = b"distillery-session/v1") -> str:
        mac = hmac.new(token, purpose + b"|" + str(expiry).encode() + b"|" + nonce.encode(), hashlib.sha256).digest()
        return f"{expiry}.{nonce}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    assert sessions.session_valid(value(b"token-b", "n0nce"))
    assert not sessions.session_valid(value(b"token-b", ""))  # no nonce, even under a right MAC
    assert not sessions.session_valid(value(b"token-b", "n0nce", b"distillery-sign-in-link/v1"))
    made = sessions.open_session("token-a")
    expires, nonce, mac = made.split(".")
    assert int(expires) == int(clock.now + 12 * HOUR) and len(nonce) == 16 and "=" not in mac


async def test_signing_out_deletes_the_cookie_with_the_attributes_it_was_set_with(http, sessions):
    await sign_in(http, "token-a")
    answer = await http.post("/sign-out")
    deleted, expires, attributes = answer.headers["set-cookie"].split("; ", 2)
    assert (deleted, attributes) == (f'{SESSION_COOKIE}=""', "HttpOnly; Max-Age=0; Path=/; SameSite=strict")
    assert answer.headers["cache-control"] == "no-store" and answer.headers["x-frame-options"] == "DENY"
    async with pages_client(sessions, [Route("/", secret)], "https://console.test") as https:
        await sign_in(https, "token-a")
        assert "; Secure" in (await https.post("/sign-out")).headers["set-cookie"]


async def test_each_sign_in_answer_says_why_and_is_never_cached_or_framed(http, clock):
    def private(answer) -> bool:
        return (answer.headers["cache-control"], answer.headers["referrer-policy"],
                answer.headers["x-frame-options"]) == ("no-store", "same-origin", "DENY")

    form = await http.get("/sign-in")
    assert form.text == "<form>error=None next=/</form>" and private(form)
    foreign = await http.post("/sign-in", data={"token": "token-a", "next": "/cycles/c-1"},
                              headers={"Origin": "https://evil.test"})
    assert (foreign.status_code, foreign.text) == (
        403, "<form>error=Signing in is accepted only from this site's own page. next=/cycles/c-1</form>")
    assert private(foreign)
    wrong = await sign_in(http, "token-c", "/cycles/c-1")
    assert wrong.text == "<form>error=That token is not one this service accepts. next=/cycles/c-1</form>"
    used = await http.get("/sign-in", params={"once": "1.2.3"})
    assert (used.status_code, used.text) == (
        401, "<form>error=That sign-in link has expired or was used already: paste the token. next=/</form>")
    signed_in = await sign_in(http, "token-a", "/cycles/c-1")
    assert private(signed_in)
    assert signed_in.headers["set-cookie"].endswith("; HttpOnly; Max-Age=43200; Path=/; SameSite=strict")


@pytest.mark.parametrize("headers, accepted", [
    ({"Origin": "http://console.test"}, True),
    ({"Origin": "http://console.test:8080"}, False),  # another port is another origin
    ({"Origin": "http://evil.test"}, False),
    ({"Origin": "null"}, False),  # a sandboxed frame or a privacy redirect: nobody to trust
    ({"Origin": "http://console.test", "Sec-Fetch-Site": "cross-site"}, True),  # Origin decides when given
    ({"Sec-Fetch-Site": "same-origin"}, True),
    ({"Sec-Fetch-Site": "none"}, True),  # the user's own action (a bookmark, the address bar)
    ({"Sec-Fetch-Site": "cross-site"}, False),
    ({"Sec-Fetch-Site": "same-site"}, False),  # a sibling host under the same domain
    ({}, True),  # no browser (curl): it cannot forge a user's request
])
async def test_a_sign_in_is_taken_only_from_this_sites_own_page(http, headers, accepted):
    answer = await http.post("/sign-in", data={"token": "token-a"}, headers=headers)
    assert (answer.status_code, SESSION_COOKIE in answer.headers.get("set-cookie", "")) == (
        (303, True) if accepted else (403, False))


async def test_a_sign_in_from_this_sites_own_page_is_accepted_with_its_origin(http):
    answer = await http.post("/sign-in", data={"token": "token-a", "next": "/cycles/c-1"},
                             headers={"Origin": "http://console.test"})
    assert answer.status_code == 303 and answer.headers["location"] == "/cycles/c-1"


@pytest.mark.parametrize("target, kept", [
    ("/cycles/c-1?tab=gates", True), ("/search?q=a b", True), ("/\n/evil.test", False), ("/\r/evil.test", False),
    ("/cycles/\x7f", False), ("/cycles/\x00", False), ("//evil.test", False), ("", False), (None, False),
])
def test_the_path_to_go_back_to_is_kept_only_when_it_is_one_of_this_sites(target, kept):
    from distillery_runtime.auth import safe_next

    assert safe_next(target) == (target if kept else "/")


async def echo(request) -> PlainTextResponse:
    return PlainTextResponse(f"{request.method} {(await request.body()).decode()}")


async def test_a_signed_in_browser_and_a_bearer_token_can_post_a_form_to_a_page(sessions):
    async with pages_client(sessions, [Route("/steer", echo, methods=["POST", "GET", "HEAD"])]) as http:
        bearer = await http.post("/steer", data={"pause": "ro-1"}, headers={"Authorization": "Bearer token-a"})
        assert bearer.text == "POST pause=ro-1"
        head = await http.head("/steer")
        assert head.status_code == 303 and head.headers["location"] == "/sign-in?next=%2Fsteer"
        assert head.headers["cache-control"] == "no-store"
        posted = await http.post("/steer", data={"pause": "ro-1"})
        assert posted.status_code == 303 and posted.headers["location"] == "/sign-in"  # a form is not replayed
        await sign_in(http, "token-a")
        assert (await http.post("/steer", data={"pause": "ro-2"})).text == "POST pause=ro-2"


def test_a_one_time_link_is_the_sites_sign_in_page_whatever_slash_the_base_ends_with(clock):
    for base in ("http://console.test", "http://console.test/", "http://console.test//"):
        assert sign_in_link(base, "token-a", clock=clock).startswith("http://console.test/sign-in?once=")
    assert sign_in_link("http://boX/", "token-a", clock=clock).startswith("http://boX/sign-in?once=")


async def test_what_lies_under_an_open_prefix_is_read_without_a_session(sessions):
    async with pages_client(sessions, [Route("/static/app.js", secret), Route("/", secret)],
                            open_prefixes=("/static/",)) as http:
        assert (await http.get("/static/app.js")).status_code == 200
        assert (await http.get("/")).status_code == 303

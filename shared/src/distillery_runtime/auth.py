"""Bearer tokens on every service's HTTP server: nothing but the health checks answers without one.

The routing table, the rollouts, the cost report and the metrics say what a deployment runs,
what it costs and how it is doing; a port reachable from the network must not hand that to
anyone. A request needs ``Authorization: Bearer <token>`` with one of the configured tokens
(``DISTILLERY_API_TOKENS``, comma-separated, so a token can be rotated by listing the old and
the new). ``/healthz`` and ``/readyz`` stay open for orchestrators' probes and say nothing but
up or not.

Unset, a service uses the local stack's token, ``<DISTILLERY_HOME>/keys/api-token``, creating
it (owner-only) at first start: clients on the same host (the CLI, the router of the demo, the
tests) read it from there, and nothing needs setting up.

A browser cannot send that header, so a service with pages people open (the console) opts into
``browser_pages``: its pages take the bearer header or a session cookie, which its ``/sign-in``
page sets once the operator pastes one of those same tokens (or opens a one-time link the CLI
prints). The cookie is never the token: it is an expiry, a nonce and an HMAC of them keyed with
the token, so every replica and a restarted service accept it without a shared secret, removing
a token from the list signs out every session it opened, and a cookie says nothing about the
token behind it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import quote, urlsplit

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = frozenset({"/healthz", "/readyz"})
TOKEN_FILE = "api-token"
SESSION_COOKIE = "distillery_session"
SIGN_IN, SIGN_OUT = "/sign-in", "/sign-out"
LINK_TTL_S = 600
"""A one-time sign-in link works for ten minutes: long enough to open what a terminal printed,
short enough that one left in a browser's history or a proxy's log opens nothing later."""
_SESSION, _LINK = b"distillery-session/v1", b"distillery-sign-in-link/v1"


class BearerAuth:
    """ASGI middleware refusing every HTTP request outside ``OPEN_PATHS`` without a known token;
    with ``only``, just those paths (a service whose own pages people open in a browser)."""

    def __init__(self, app: ASGIApp, tokens: Iterable[str], only: Iterable[str] | None = None) -> None:
        self.app = app
        self.tokens = [t.encode() for t in tokens if t]
        self.only = frozenset(only) if only is not None else None

    def _open(self, path: str) -> bool:
        return path in OPEN_PATHS or (self.only is not None and path not in self.only)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._open(scope["path"]) or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        await _unauthorized(send)

    def _allowed(self, scope: Scope) -> bool:
        return _bearer_ok(_authorization(scope), self.tokens)


async def _unauthorized(send: Send) -> None:
    body = json.dumps({"error": "unauthorized: send Authorization: Bearer <token> "
                                "(one of DISTILLERY_API_TOKENS)"}).encode()
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _authorization(scope: Scope) -> bytes:
    return next((v for k, v in scope["headers"] if k == b"authorization"), b"")


def _bearer_ok(header: bytes, tokens: Sequence[bytes]) -> bool:
    scheme, _, given = header.partition(b" ")
    if scheme.lower() != b"bearer" or not given.strip():
        return False
    return _known(given.strip(), tokens) is not None


def _known(given: bytes, tokens: Sequence[bytes]) -> bytes | None:
    """The configured token ``given`` is. Every token is compared, so the time taken says
    nothing about which one nearly matched."""
    matches = [hmac.compare_digest(given, token) for token in tokens]
    return next((token for token, match in zip(tokens, matches, strict=True) if match), None)


def parse_tokens(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def local_token(home: Path, *, create: bool = True) -> str | None:
    """The local stack's token in ``<home>/keys/api-token``; created when missing (unless told not to)."""
    path = Path(home) / "keys" / TOKEN_FILE
    if not path.exists():
        if not create:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another service of the stack created it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text(encoding="utf-8").strip() or None


def bearer_headers(token: str | None) -> dict[str, str]:
    """The header a client sends (none without a token)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


# Browser pages: the same tokens, shown once on a sign-in page, then a session cookie.

SignInPage = Callable[[str | None, str], str]
"""Renders the sign-in form as HTML: the error to show (None: none), and the path to go back to."""


class BrowserSessions:
    """Who may see a service's browser pages: a configured token, or a cookie signed with one.

    A session value is ``<expiry>.<nonce>.<mac>``, the MAC an HMAC-SHA256 of the expiry and nonce
    keyed with the token that opened it; a one-time link's code has the same shape under another
    purpose, so neither passes for the other."""

    def __init__(self, tokens: Iterable[str], max_age_s: float = 12 * 3600,
                 clock: Callable[[], float] = time.time) -> None:
        self.tokens = [t.encode() for t in tokens if t]
        self.max_age_s = max_age_s
        self.clock = clock
        self._used_links: dict[str, int] = {}

    def open_session(self, given: str) -> str | None:
        """A cookie value for a browser that showed ``given``; None unless it is a configured token."""
        token = _known(given.strip().encode(), self.tokens) if given.strip() else None
        return None if token is None else _sign(token, _SESSION, int(self.clock() + self.max_age_s))

    def session_valid(self, value: str | None) -> bool:
        # A lifetime shortened since the cookie was set shortens it too.
        signed = _verify(value or "", _SESSION, self.tokens)
        now = self.clock()
        return signed is not None and now < signed[0] <= now + self.max_age_s

    def redeem_link(self, code: str) -> str | None:
        """A cookie value for a one-time link's code; None when forged, expired or used before
        (remembered by this process: a restarted service still refuses it once it has expired)."""
        signed = _verify(code, _LINK, self.tokens)
        now = self.clock()
        if signed is None or not now < signed[0] <= now + LINK_TTL_S:
            return None
        expires, nonce, token = signed
        self._used_links = {n: e for n, e in self._used_links.items() if e > now}
        if nonce in self._used_links:
            return None
        self._used_links[nonce] = expires
        return _sign(token, _SESSION, int(now + self.max_age_s))


def sign_in_link(base_url: str, token: str, clock: Callable[[], float] = time.time) -> str:
    """A link to ``base_url``'s sign-in page that signs a browser in once, within ``LINK_TTL_S``:
    what a CLI prints for its local user instead of the token, which would stay valid in the
    browser's history and any log of the URL."""
    code = _sign(token.encode(), _LINK, int(clock() + LINK_TTL_S))
    return f"{base_url.rstrip('/')}{SIGN_IN}?once={code}"


def _mac(token: bytes, purpose: bytes, expires: int, nonce: str) -> str:
    message = b"|".join((purpose, str(expires).encode(), nonce.encode()))
    return base64.urlsafe_b64encode(hmac.new(token, message, hashlib.sha256).digest()).rstrip(b"=").decode()


def _sign(token: bytes, purpose: bytes, expires: int) -> str:
    nonce = secrets.token_urlsafe(12)
    return f"{expires}.{nonce}.{_mac(token, purpose, expires, nonce)}"


def _verify(value: str, purpose: bytes, tokens: Sequence[bytes]) -> tuple[int, str, bytes] | None:
    """The expiry, nonce and token of a value one of ``tokens`` signed for ``purpose``."""
    parts = value.split(".")
    if len(parts) != 3 or not (parts[0].isascii() and parts[0].isdigit()) or not parts[1]:
        return None
    expires, nonce, given = int(parts[0]), parts[1], parts[2].encode()
    matches = [hmac.compare_digest(given, _mac(t, purpose, expires, nonce).encode()) for t in tokens]
    token = next((t for t, match in zip(tokens, matches, strict=True) if match), None)
    return None if token is None else (expires, nonce, token)


def safe_next(raw: str | None) -> str:
    """The path to go back to after signing in: a path of this site, else ``/``. Another site's
    URL, a scheme, ``//host`` and ``/\\host`` (which browsers read as another host) are refused,
    so the sign-in page cannot send an operator elsewhere."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    # Browsers drop tabs and line breaks from a URL: "/\t/host" would be "//host". What is left, a
    # path starting with one "/", has neither a scheme nor a host.
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        return "/"
    return raw


class SessionAuth:
    """ASGI middleware for browser pages: a known bearer token or a valid session cookie passes.
    A request without either is sent to the sign-in page (a page request with its path as
    ``next``); a wrong bearer token comes from a program, not a browser, and gets 401."""

    def __init__(self, app: ASGIApp, sessions: BrowserSessions, open_prefixes: Sequence[str] = ()) -> None:
        self.app = app
        self.sessions = sessions
        self.open_prefixes = tuple(open_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in OPEN_PATHS or path == SIGN_IN or path.startswith(self.open_prefixes):
            await self.app(scope, receive, send)
            return
        header = _authorization(scope)
        if header:
            if _bearer_ok(header, self.sessions.tokens):
                await self.app(scope, receive, send)
            else:
                await _unauthorized(send)
            return
        request = Request(scope)
        if self.sessions.session_valid(request.cookies.get(SESSION_COOKIE)):
            await self.app(scope, receive, send)
            return
        target = SIGN_IN
        if scope["method"] in ("GET", "HEAD"):
            query = scope.get("query_string", b"").decode("latin-1")
            target += "?next=" + quote(path + (f"?{query}" if query else ""), safe="")
        await RedirectResponse(target, status_code=303, headers=_PRIVATE)(scope, receive, send)


# same-origin, not no-referrer: with no-referrer a browser posts the form with "Origin: null".
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}


def browser_pages(routes: Sequence[BaseRoute], sessions: BrowserSessions, render: SignInPage,
                  open_prefixes: Sequence[str] = ()) -> list[BaseRoute]:
    """``routes`` behind ``SessionAuth``, with ``/sign-in`` (GET: the form, or a one-time link's
    ``?once=``; POST: the pasted token) and ``/sign-out`` (POST). ``open_prefixes``: paths
    anyone may read (a service's own static assets, which hold nothing but its code)."""

    async def sign_in(request: Request) -> Response:
        if request.method == "GET":
            once = request.query_params.get("once")
            if once is None:
                return _form(render(None, safe_next(request.query_params.get("next"))))
            cookie = sessions.redeem_link(once)
            if cookie is None:
                return _form(render("That sign-in link has expired or was used already: paste the token.", "/"), 401)
            return _signed_in(request, cookie, "/", sessions.max_age_s)
        form = await request.form()
        target = safe_next(str(form.get("next", "")))
        if not same_origin(request):
            return _form(render("Signing in is accepted only from this site's own page.", target), 403)
        cookie = sessions.open_session(str(form.get("token", "")))
        if cookie is None:
            return _form(render("That token is not one this service accepts.", target), 401)
        return _signed_in(request, cookie, target, sessions.max_age_s)

    async def sign_out(request: Request) -> Response:
        response = RedirectResponse(SIGN_IN, status_code=303, headers=_PRIVATE)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=request.url.scheme == "https", httponly=True,
                               samesite="strict")
        return response

    pages = [Route(SIGN_IN, sign_in, methods=["GET", "POST"]), Route(SIGN_OUT, sign_out, methods=["POST"]), *routes]
    return [Mount("", routes=pages, middleware=[Middleware(SessionAuth, sessions=sessions,
                                                           open_prefixes=open_prefixes)])]


def _form(html: str, status: int = 200) -> Response:
    return HTMLResponse(html, status_code=status, headers=_PRIVATE)


def _signed_in(request: Request, cookie: str, target: str, max_age_s: float) -> Response:
    response = RedirectResponse(target, status_code=303, headers=_PRIVATE)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=int(max_age_s), path="/",
                        secure=request.url.scheme == "https", httponly=True, samesite="strict")
    return response


def same_origin(request: Request) -> bool:
    """Whether a form post may come from this site's own pages (not a cross-site request forgery).

    A browser posting a form says where the page came from in ``Origin``: it must name this
    host. Where ``Origin`` is absent (an older browser, or a client that is no browser, such as
    curl, which cannot forge a user's request), ``Sec-Fetch-Site``, which a page's script
    cannot set, must not say ``cross-site`` or ``same-site`` (a sibling host under the same
    domain is another site for the console's purposes).
    """
    origin = request.headers.get("origin")
    if origin is not None:
        return urlsplit(origin).netloc == request.headers.get("host")
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")

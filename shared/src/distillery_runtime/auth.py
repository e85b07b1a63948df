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
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = frozenset({"/healthz", "/readyz"})
TOKEN_FILE = "api-token"


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
        body = json.dumps({"error": "unauthorized: send Authorization: Bearer <token> "
                                    "(one of DISTILLERY_API_TOKENS)"}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def _allowed(self, scope: Scope) -> bool:
        header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        scheme, _, given = header.partition(b" ")
        if scheme.lower() != b"bearer" or not given.strip():
            return False
        # Every token is compared, so the time taken says nothing about which one nearly matched.
        matches = [hmac.compare_digest(given.strip(), token) for token in self.tokens]
        return any(matches)


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

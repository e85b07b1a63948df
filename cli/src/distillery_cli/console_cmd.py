"""``distillery console``: the operator console in the foreground, at a URL it prints first."""

from __future__ import annotations

from typing import Annotated

import typer

from distillery_cli.common import console, die
from distillery_cli.discovery import load_service

DEFAULT_PORT = 8700


def sign_in_lines(url: str, token: str, where: str) -> list[str]:
    """How the local user signs in without typing: a one-time link that expires in minutes. The
    token itself in a URL would stay valid in the browser's history and any log of the URL; the
    link opens one session once, and ``where`` says where the token is for a later sign-in."""
    from distillery_runtime.auth import LINK_TTL_S, sign_in_link

    return [f"Sign in: {sign_in_link(url, token)}",
            f"  (works once, for {LINK_TTL_S // 60} minutes; after that, paste {where} on the sign-in page)"]


def console_cmd(
    port: Annotated[int, typer.Option(help="Port of the pages (0: any free port, logged at start).",
                                      min=0, max=65535)] = DEFAULT_PORT,
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 to reach it from elsewhere.")]
    = "127.0.0.1",
) -> None:
    """Serve the operator console: cycles, answers and steering, built from the topics.

    Its pages ask for an API token once; the one-time sign-in link printed at start does that for you."""
    from distillery_runtime.entrypoint import load_settings, run_service
    from distillery_runtime.settings import RuntimeSettings

    try:
        build = load_service("console")
        settings = load_settings(lambda: RuntimeSettings(http_port=port, http_host=host))
        tokens = settings.accepted_tokens()  # the console would create the local token at start anyway
    except Exception as exc:  # a missing extra, a bad setting, an unwritable home: one line, exit 2
        die(str(exc))
    if port:
        url = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/"
        console.print(f"Console: {url}  (Ctrl-C stops it)", soft_wrap=True, markup=False, highlight=False)
        where = ("one of DISTILLERY_API_TOKENS" if settings.api_tokens is not None
                 else f"the token in {settings.home / 'keys' / 'api-token'}")
        for line in sign_in_lines(url, tokens[0], where) if tokens else []:
            console.print(line, soft_wrap=True, markup=False, highlight=False)
    run_service(build, lambda: settings)

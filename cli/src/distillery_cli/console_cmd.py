"""``distillery console``: the operator console in the foreground, at a URL it prints first."""

from __future__ import annotations

from typing import Annotated

import typer

from distillery_cli.common import console, die
from distillery_cli.discovery import load_service

DEFAULT_PORT = 8700


def console_cmd(
    port: Annotated[int, typer.Option(help="Port of the pages (0: any free port, logged at start).",
                                      min=0, max=65535)] = DEFAULT_PORT,
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 to reach it from elsewhere.")]
    = "127.0.0.1",
) -> None:
    """Serve the operator console: cycles, answers and steering, built from the topics."""
    from distillery_runtime.entrypoint import run_service
    from distillery_runtime.settings import RuntimeSettings

    try:
        build = load_service("console")
    except Exception as exc:
        die(str(exc))
    if port:
        console.print(f"Console: http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/  (Ctrl-C stops it)")
    run_service(build, lambda: RuntimeSettings(http_port=port, http_host=host))

"""Running the OpenAI/Azure sandbox: in the foreground with a banner, or in a thread (tests,
the demo and other services' integration tests)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

import uvicorn
from starlette.applications import Starlette

from distillery_sandbox.openai.app import Sandbox, create_app
from distillery_sandbox.openai.config import SandboxConfig
from distillery_sandbox.threaded import serve_in_thread

BANNER = (
    "SIMULATION: Distillery OpenAI/Azure sandbox, not OpenAI and not Azure OpenAI. Its\n"
    "models are simulations of a clinic's voice agent, its fine-tuning jobs train nothing,\n"
    "and its state lives in memory. Never point a production system at it."
)


def banner(host: str, port: int, config: SandboxConfig) -> str:
    base = f"http://{host}:{port}"
    shutdowns = ", ".join(f"{m.id} {m.shutdown_date}" for m in config.models
                          if m.shutdown_date and m.id != m.snapshot)
    return "\n".join([
        BANNER, "",
        f"  OpenAI:       base_url {base}/v1   api key {config.openai_keys[0]}",
        f"  Azure OpenAI: azure_endpoint {base}   api-key {config.azure_keys[0]}   "
        "api-version 2024-10-21",
        f"  Azure management: {base}/subscriptions/<sub>/resourceGroups/<rg>/providers/"
        f"Microsoft.CognitiveServices/accounts/{config.azure.account}/deployments/<name>"
        f"?api-version=2024-10-01   Bearer {config.management_tokens[0]}",
        f"  Azure deployments ready: {', '.join(config.azure.deployments) or 'none'}",
        f"  Model shutdowns: {shutdowns or 'none announced'}; latency x{config.latency.scale:g}; "
        f"job timings x{config.timings.scale:g}",
        f"  State: {config.snapshot_path or 'memory only'}",
        "  Sandbox-only routes: GET /sandbox/v1/health, GET|POST /sandbox/v1/faults",
    ])


def serve(host: str = "127.0.0.1", port: int = 8100, config: SandboxConfig | None = None,
          *, log_level: str = "info", out: TextIO | None = None) -> None:
    """Print the simulation banner and serve until interrupted."""
    config = config or SandboxConfig()
    app = create_app(config)
    print(banner(host, port, config), file=out or sys.stdout, flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    except KeyboardInterrupt:
        pass  # uvicorn already shut down cleanly; it re-raises Ctrl-C for the caller


@dataclass(frozen=True)
class RunningSandbox:
    """A sandbox serving in a background thread. `url` is the server's root (the Azure
    endpoint); OpenAI clients use `openai_base_url`."""

    url: str
    app: Starlette

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def sandbox(self) -> Sandbox:
        return self.app.state.sandbox


@contextmanager
def run_in_thread(config: SandboxConfig | None = None, host: str = "127.0.0.1",
                  port: int = 0) -> Iterator[RunningSandbox]:
    """Serve on `port` (0: a free one) in a daemon thread until the block ends."""
    app = create_app(config)
    with serve_in_thread(app, "OpenAI sandbox", host, port) as url:
        yield RunningSandbox(url, app)

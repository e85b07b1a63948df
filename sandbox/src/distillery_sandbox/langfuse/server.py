"""Running the Langfuse sandbox: projects and seeded traffic, a banner, then uvicorn; or in a
thread (tests and other services' integration tests)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

import uvicorn
from starlette.applications import Starlette

from distillery_sandbox.langfuse.app import Project, create_app
from distillery_sandbox.langfuse.faults import Faults
from distillery_sandbox.langfuse.store import LangfuseStore
from distillery_sandbox.threaded import serve_in_thread
from distillery_sandbox.workload.defects import DefectRates
from distillery_sandbox.workload.simulate import WorkloadConfig, simulate_calls

DEFAULT_KEYS = (("pk-lf-sandbox", "sk-lf-sandbox"),)

BANNER = (
    "SIMULATION: this is the Distillery Langfuse sandbox, not Langfuse. Its traces are\n"
    "synthetic (a simulated clinic voice line) and live in memory only. Never point a\n"
    "production system at it."
)


@dataclass(frozen=True)
class SandboxSettings:
    """How to start the sandbox. Each key pair is one project; project i is seeded with
    `calls` simulated calls from seed `seed + i`."""

    keys: Sequence[tuple[str, str]] = DEFAULT_KEYS
    seed: int = 7
    calls: int = 0
    defects: DefectRates = field(default_factory=DefectRates)
    lag_seconds: float = 0.0
    faults: Faults = field(default_factory=Faults)


def build_sandbox(settings: SandboxSettings) -> tuple[Starlette, list[Project]]:
    """The app and its projects, each already holding its seeded traffic."""
    projects = []
    for index, (public_key, secret_key) in enumerate(settings.keys):
        if not public_key or not secret_key:
            raise ValueError("every project needs a non-empty public key and secret key")
        store = LangfuseStore(f"sandbox-project-{index + 1}", lag_seconds=settings.lag_seconds)
        if settings.calls:
            config = WorkloadConfig(seed=settings.seed + index, calls=settings.calls,
                                    defects=settings.defects)
            store.add_calls(simulate_calls(config))
        projects.append(Project(public_key, secret_key, store))
    return create_app(projects, settings.faults), projects


def banner(host: str, port: int, projects: Sequence[Project]) -> str:
    lines = [BANNER, "", f"  base URL: http://{host}:{port}  (LANGFUSE_BASE_URL)"]
    for project in projects:
        counts = project.store.counts()
        lines.append(
            f"  project {project.store.project_id}: public key {project.public_key}, "
            f"secret key {project.secret_key}, {counts['observations']} observations, "
            f"{counts['scores']} scores, ingestion lag {project.store.lag.total_seconds():g}s"
        )
    lines.append("  sandbox-only routes: POST /sandbox/v1/simulate, GET /sandbox/v1/stats, "
                 "POST /sandbox/v1/faults")
    return "\n".join(lines)


def serve(host: str = "127.0.0.1", port: int = 3000, settings: SandboxSettings | None = None,
          *, log_level: str = "info", out: TextIO | None = None) -> None:
    """Build the sandbox, print the simulation banner, and serve until interrupted."""
    app, projects = build_sandbox(settings or SandboxSettings())
    stream = out or sys.stdout
    print(banner(host, port, projects), file=stream, flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


@contextmanager
def run_in_thread(projects: Sequence[Project], faults: Faults | None = None,
                  host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve these projects on `port` (0: a free one) in a daemon thread until the block
    ends; yields the base URL (LANGFUSE_BASE_URL)."""
    with serve_in_thread(create_app(projects, faults), "Langfuse sandbox", host, port) as url:
        yield url

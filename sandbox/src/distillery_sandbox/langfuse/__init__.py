"""A local stand-in for Langfuse's public API, serving the simulated workload.

Public API:

- `LangfuseStore(project_id, lag_seconds=..., clock=...)`: one project's data in memory;
  `add_calls(simulated_calls)`, `put_observation(record)`, `put_score(score)`.
- `create_app(projects, faults)`: the Starlette app; `Project(public_key, secret_key, store)`.
- `Faults`: injected 429s, 500s and malformed observations (off by default).
- `serve(host, port, settings)`, `SandboxSettings`, `build_sandbox(settings)`.
- `run_in_thread(projects, faults)`: serve in a background thread (tests); yields the base URL.
"""

from distillery_sandbox.langfuse.app import SANDBOX_VERSION, Project, create_app
from distillery_sandbox.langfuse.faults import MALFORMED_KINDS, Faults
from distillery_sandbox.langfuse.records import (
    FIELD_GROUPS,
    observation_from_generation,
    score_from_simulated,
)
from distillery_sandbox.langfuse.server import (
    BANNER,
    SandboxSettings,
    build_sandbox,
    run_in_thread,
    serve,
)
from distillery_sandbox.langfuse.store import LangfuseStore

__all__ = [
    "BANNER",
    "FIELD_GROUPS",
    "MALFORMED_KINDS",
    "SANDBOX_VERSION",
    "Faults",
    "LangfuseStore",
    "Project",
    "SandboxSettings",
    "build_sandbox",
    "create_app",
    "observation_from_generation",
    "run_in_thread",
    "score_from_simulated",
    "serve",
]

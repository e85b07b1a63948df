"""The ``distillery`` command's entry point.

``distillery run <service>`` is that service's process, so it must import only what the
service's own package depends on (``distillery_runtime.imports``): it goes straight to the
service's entry point. The whole command line (``main``) loads every command's module, the
cleaner's spaCy and Presidio among them, and with them PyTorch where it is installed; a cleaner
started through it held PyTorch, and so did every process it spawns (a worker process
re-imports its parent's main module). Every other command loads the whole command line.

Either way the process first adopts the local stack's environment (``stack.json``), where its
own is silent: a service or command started against the demo's stack from another terminal
reads the demo's lifecycle calendar, as the demo's own processes do.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def run() -> None:
    adopt_local_stack_environment()
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "run" and not args[1].startswith("-"):
        run_service_named(args[1])
        return
    from distillery_cli.main import run as run_command_line

    run_command_line()


def run_service_named(name: str) -> None:
    """``distillery run <name>``: the installed service ``name`` until SIGTERM or Ctrl-C."""
    from distillery_cli.discovery import load_service
    from distillery_runtime.entrypoint import fail, run_service

    try:
        build = load_service(name)
    except Exception as error:  # an unknown service, or one whose package cannot be imported
        fail(str(error))
        return
    run_service(build)


def adopt_local_stack_environment() -> list[str]:
    """The variables this process took from the local stack under ``DISTILLERY_HOME``."""
    from distillery_runtime.settings import RuntimeSettings
    from distillery_runtime.stackstate import adopt_stack_environment

    home = os.environ.get("DISTILLERY_HOME") or RuntimeSettings.model_fields["home"].default
    return adopt_stack_environment(Path(home))

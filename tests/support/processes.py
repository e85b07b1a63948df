"""Service processes started by tests, the way a deployment starts them: ``python -m``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from distillery_runtime.signing import local_keys


def service_env(bootstrap: str, database_url: str, home: Path, **extra: str) -> dict[str, str]:
    """This process's environment pointed at the test's broker, database and home, with the
    short batch and outbox polls that keep a test quick; ``extra`` added last. The home gets a
    local stack's keys, as ``distillery stack up`` makes them (an operator key the controller
    trusts, the controller's table key that routers trust)."""
    local_keys(home).ensure()
    return {**os.environ, "DISTILLERY_KAFKA_BOOTSTRAP": bootstrap, "DISTILLERY_DATABASE_URL": database_url,
            "DISTILLERY_HOME": str(home), "DISTILLERY_CONSUMER_BATCH_TIMEOUT_MS": "50",
            "DISTILLERY_OUTBOX_POLL_S": "0.1", **extra}


def start_process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """``python <args>`` with ``env``, its output appended to ``log`` (read it when a check fails)."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, *args], env=env, stdout=out, stderr=subprocess.STDOUT)

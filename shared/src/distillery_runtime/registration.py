"""Where a running service can be found: a small file per process under <home>/run/.

Lets `distillery status` find every local service's health endpoint without fixed ports.
In a container deployment each service has its own address and this file is only local.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Registration:
    service: str
    version: str
    pid: int
    http: str
    group: str


def registrations_dir(home: Path) -> Path:
    return Path(home) / "run" / "services"


def register(home: Path, registration: Registration) -> Path:
    folder = registrations_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{registration.service}-{registration.pid}.json"
    path.write_text(json.dumps(asdict(registration)))
    return path


def registrations(home: Path) -> list[Registration]:
    """Registrations of processes that are still alive (stale files are removed)."""
    found = []
    for path in sorted(registrations_dir(home).glob("*.json")):
        try:
            reg = Registration(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if pid_alive(reg.pid):
            found.append(reg)
        else:
            path.unlink(missing_ok=True)
    return found


def pid_alive(pid: int | None) -> bool:
    """Whether a process runs (a zombie child, exited but not yet reaped, does not)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True

"""The file through which ``distillery stack up`` tells services where the stack is.

It may also carry the environment every process of the stack was started with (the demo's
rehearsed lifecycle calendar, say): a ``distillery`` command run against the stack from another
terminal adopts it where its own environment is silent, so it sees what the stack's services see.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_FILE = "stack.json"


@dataclass
class StackState:
    """What a running local stack offers: addresses and the processes behind them."""

    kafka_bootstrap: str
    database_url: str
    broker_pid: int | None = None
    postgres_pid: int | None = None
    postgres_data: str | None = None
    embedded_postgres: bool = False
    environment: dict[str, str] = field(default_factory=dict)
    """Variables every process of the stack reads; a command's own environment wins over them."""


def state_path(home: Path) -> Path:
    return Path(home) / STATE_FILE


def read_stack_state(home: Path) -> StackState | None:
    path = state_path(home)
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return StackState(**{k: v for k, v in data.items() if k in StackState.__dataclass_fields__})


def write_stack_state(home: Path, state: StackState) -> Path:
    path = state_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2))
    tmp.replace(path)
    return path


def clear_stack_state(home: Path) -> None:
    state_path(home).unlink(missing_ok=True)


def adopt_stack_environment(home: Path, environ: MutableMapping[str, str] = os.environ) -> list[str]:
    """Set in ``environ`` each of the stack's variables it leaves unset or empty (an empty value
    counts as unset, as the settings read it); the names set, sorted."""
    state = read_stack_state(home)
    if state is None:
        return []
    adopted = sorted(name for name, value in state.environment.items() if not environ.get(name))
    for name in adopted:
        environ[name] = state.environment[name]
    return adopted

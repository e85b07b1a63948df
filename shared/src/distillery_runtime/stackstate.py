"""The file through which ``distillery stack up`` tells services where the stack is."""

from __future__ import annotations

import json
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
    extra: dict[str, object] = field(default_factory=dict)


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

"""``distillery stack up|down|status``: one local broker and database for development and tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from distillery_cli.localstack.broker import start_broker
from distillery_cli.localstack.postgres import PostgresProcess, start_postgres
from distillery_cli.localstack.procs import port_open, terminate
from distillery_runtime.registration import pid_alive
from distillery_runtime.stackstate import (
    StackState,
    clear_stack_state,
    read_stack_state,
    write_stack_state,
)


class StackAlreadyRunning(Exception):
    def __init__(self, state: StackState) -> None:
        super().__init__(f"a stack is already running (broker {state.kafka_bootstrap})")
        self.state = state


@dataclass
class StackStatus:
    state: StackState | None
    broker_up: bool
    database_up: bool

    @property
    def running(self) -> bool:
        return self.state is not None and self.broker_up


def status(home: Path) -> StackStatus:
    state = read_stack_state(home)
    if state is None:
        return StackStatus(None, False, False)
    host, _, port = state.kafka_bootstrap.rpartition(":")
    broker_up = pid_alive(state.broker_pid) and port_open(host, int(port))
    db_up = pid_alive(state.postgres_pid) if state.embedded_postgres else True
    return StackStatus(state, broker_up, db_up)


def up(home: Path, *, kafka_port: int, postgres_port: int, database_url: str | None) -> StackState:
    """Start what is not running; refuse (changing nothing) when a stack is already up."""
    home = home.resolve()
    current = status(home)
    if current.running:
        raise StackAlreadyRunning(current.state)  # type: ignore[arg-type]
    broker = start_broker(home, kafka_port)
    try:
        if database_url:
            state = StackState(broker.bootstrap, database_url, broker_pid=broker.pid)
        else:
            pg = start_postgres(home, postgres_port)
            state = StackState(broker.bootstrap, pg.url, broker_pid=broker.pid, postgres_pid=pg.pid,
                               postgres_data=str(pg.data), embedded_postgres=True)
    except Exception:
        broker.stop()
        raise
    write_stack_state(home, state)
    return state


def down(home: Path) -> StackState | None:
    home = home.resolve()
    state = read_stack_state(home)
    if state is None:
        return None
    terminate(state.broker_pid)
    if state.embedded_postgres and state.postgres_data:
        host_port = state.database_url.split("@", 1)[1].split("/", 1)[0]
        host, _, port = host_port.rpartition(":")
        PostgresProcess(Path(state.postgres_data), host, int(port), None).stop_as_owner()
    clear_stack_state(home)
    return state

"""``distillery stack``: start, stop and inspect the local broker and database."""

from __future__ import annotations

import os

import typer

from distillery_cli.common import console, die, friendly, run_async, settings
from distillery_cli.localstack import stack
from distillery_cli.provision import create_topics, migrate_all
from distillery_runtime.db import redacted
from distillery_runtime.signing import local_keys

stack_app = typer.Typer(help="Start, stop and inspect the local stack (Tansu broker + PostgreSQL).",
                        no_args_is_help=True)


@stack_app.command("up")
@friendly
def stack_up(
    kafka_port: int = typer.Option(9092, envvar="DISTILLERY_STACK_KAFKA_PORT", help="Broker port."),
    postgres_port: int = typer.Option(5433, envvar="DISTILLERY_STACK_POSTGRES_PORT",
                                      help="Embedded PostgreSQL port (unused with DISTILLERY_DATABASE_URL)."),
) -> None:
    """Start the broker and database, create every topic and run every service's migrations."""
    cfg = settings()
    home = cfg.home.resolve()
    explicit_db = os.environ.get("DISTILLERY_DATABASE_URL") or None
    try:
        state = stack.up(home, kafka_port=kafka_port, postgres_port=postgres_port, database_url=explicit_db)
    except stack.StackAlreadyRunning as exc:
        console.print(f"A stack is already running; nothing changed.\n"
                      f"  bootstrap: {exc.state.kafka_bootstrap}\n"
                      f"  database:  {redacted(exc.state.database_url)}")
        raise typer.Exit(0) from None
    except RuntimeError as exc:
        die(str(exc))
    created = run_async(create_topics(state.kafka_bootstrap))
    migrated = run_async(migrate_all(state.database_url))
    keys = local_keys(home)
    operator = keys.ensure()
    console.print(f"[green]Stack is up.[/]\n"
                  f"  bootstrap:  {state.kafka_bootstrap}   (export DISTILLERY_KAFKA_BOOTSTRAP={state.kafka_bootstrap})\n"
                  f"  database:   {state.database_url}"
                  f"{'   (embedded PostgreSQL)' if state.embedded_postgres else ''}\n"
                  f"  topics:     {len(created)} created\n"
                  f"  migrations: {', '.join(migrated) or 'no services installed'}\n"
                  f"  files:      {home} (state in stack.json, logs in logs/, database in postgres/)\n"
                  f"  keys:       {keys.folder} (rollout commands are signed as {operator.identity!r}; "
                  f"routers trust {keys.table_keys.name})\n"
                  f"  The broker keeps messages in memory: 'stack down' discards them.")


@stack_app.command("down")
def stack_down() -> None:
    """Stop the broker and the embedded database (the database files stay)."""
    state = stack.down(settings().home)
    console.print("Stack stopped." if state else "No stack was running.")


@stack_app.command("status")
def stack_status() -> None:
    """Say whether the stack runs, and where."""
    home = settings().home.resolve()
    st = stack.status(home)
    if st.state is None:
        console.print(f"No stack is running (state directory {home}).")
        raise typer.Exit(1)
    console.print(f"broker   {st.state.kafka_bootstrap}  {'[green]up[/]' if st.broker_up else '[red]down[/]'}")
    console.print(f"database {redacted(st.state.database_url)}  {'[green]up[/]' if st.database_up else '[red]down[/]'}")
    console.print(f"files    {home}")
    if not st.running:
        raise typer.Exit(1)

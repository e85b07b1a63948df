"""The ``distillery`` command line."""

from __future__ import annotations

import typer
from rich.table import Table

from distillery_cli.common import broker_bootstrap, console, die, friendly, print_table, run_async, settings
from distillery_cli.provision import create_topics, migrate_all
from distillery_cli.discovery import installed_services
from distillery_cli.entry import run_service_named
from distillery_cli.config_cmd import config_app
from distillery_cli.extras import DEMO_NEEDS, NotInstalled, load, unavailable
from distillery_cli.replay import replay_cmd
from distillery_cli.stack_cmd import stack_app
from distillery_cli.status import status_cmd
from distillery_cli import topics as topic_ops
from distillery_contracts.registry import all_topic_specs, get_topic

app = typer.Typer(
    name="distillery",
    help="Distil an expensive LLM into a cheap one from production traffic.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def add_command(name: str, module: str, attribute: str, needs: tuple[str, ...] = (),
                extra: str | None = None) -> None:
    """Add a command whose code needs an optional part (a stand-in says what to install)."""
    try:
        app.command(name)(load(module, attribute, needs, extra))
    except NotInstalled as missing:
        app.command(name, context_settings=PASS_THROUGH)(unavailable(name, missing.extra))


def add_group(name: str, module: str, attribute: str, needs: tuple[str, ...] = ()) -> None:
    try:
        app.add_typer(load(module, attribute, needs), name=name)
    except NotInstalled as missing:
        app.command(name, context_settings=PASS_THROUGH)(unavailable(name, missing.extra))


def add_sandbox() -> None:
    try:
        sandbox_app = load("distillery_cli.sandbox", "sandbox_app", needs=("distillery_sandbox",))
        sandbox_app.command("openai")(load("distillery_cli.sandbox_openai", "openai"))
        app.add_typer(sandbox_app, name="sandbox")
    except NotInstalled as missing:
        app.command("sandbox", context_settings=PASS_THROUGH)(unavailable("sandbox", missing.extra))


app.add_typer(stack_app, name="stack")
app.add_typer(config_app, name="config")
add_group("dataset", "distillery_cli.dataset", "dataset_app")
app.command("replay")(replay_cmd)
app.command("status")(status_cmd)
add_command("demo", "distillery_cli.demo_cmd", "demo_cmd", needs=DEMO_NEEDS, extra="all")
add_command("clean", "distillery_cli.clean", "clean")
add_group("finetune", "distillery_cli.finetune", "finetune_app")
add_group("eval", "distillery_cli.evaluate", "eval_app", needs=("distillery_evaluator",))
add_group("ingest", "distillery_cli.ingest", "ingest_app", needs=("distillery_trace_ingester",))
add_group("rollout", "distillery_cli.rollout", "rollout_app")
add_group("keys", "distillery_cli.keys", "keys_app")
add_command("report", "distillery_cli.rollout", "report_cmd")
add_group("privacy", "distillery_cli.privacy", "privacy_app")
add_command("console", "distillery_cli.console_cmd", "console_cmd", needs=("distillery_console",))
add_command("train", "distillery_cli.students", "train_cmd", needs=("distillery_students",))
add_command("serve", "distillery_cli.students", "serve_cmd", needs=("distillery_students",))
add_sandbox()
topics_app = typer.Typer(help="Inspect and create the topics in the registry.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")


@app.command("run")
def run_cmd(service: str = typer.Argument(..., help="trace-ingester, cleaner, dataset-builder, finetune-controller, "
                                          "trainer, evaluator, rollout-controller or console (`distillery services` "
                                          "lists those installed)")) -> None:
    """Run one service in the foreground until Ctrl-C or SIGTERM."""
    run_service_named(service)  # what `distillery run <service>` runs without loading this module


@app.command("services")
def services_cmd() -> None:
    """List the services installed here."""
    for name in installed_services():
        console.print(name)


@app.command("migrate")
@friendly
def migrate_cmd(service: list[str] = typer.Argument(None, help="Services to migrate (default: all installed).")) -> None:
    """Bring every installed service's database schema up to date."""
    done = run_async(migrate_all(settings().require_database_url(), service or None))
    console.print(f"Migrated: {', '.join(done)}")


@topics_app.command("create")
@friendly
def topics_create() -> None:
    """Create every registry topic (and its dead-letter topic) that does not exist yet."""
    created = run_async(create_topics(settings().kafka_bootstrap))
    console.print(f"Created {len(created)} topic(s)" + (": " + ", ".join(created) if created else "; all existed."))


@topics_app.command("list")
@friendly
def topics_list() -> None:
    """Every topic in the registry, with its partitions and whether the broker has it."""
    bootstrap = broker_bootstrap()
    present = set(run_async(topic_ops.list_topics(bootstrap)))
    table = Table("topic", "partitions", "key", "retention", "on broker")
    for spec in all_topic_specs():
        retention = "compacted" if spec.compacted else (
            f"{spec.retention_ms // 86_400_000}d" if spec.retention_ms else "forever")
        table.add_row(spec.name, str(spec.partitions), spec.key, retention,
                      "[green]yes[/]" if spec.name in present else "[red]no[/]")
    console.print(table)


@topics_app.command("describe")
@friendly
def topics_describe(topic: str) -> None:
    """Partitions, offsets and the lag of every consumer group on one topic."""
    bootstrap = broker_bootstrap()
    try:
        spec = get_topic(topic)
    except KeyError:
        spec = None
    parts = run_async(topic_ops.partitions(bootstrap, topic))
    if not parts:
        die(f"topic {topic!r} does not exist on the broker at {bootstrap} (try 'distillery topics create')")
    if spec is not None:
        console.print(f"[bold]{spec.name}[/]  key={spec.key}  events="
                      f"{', '.join(e.event_type for e in spec.events)}")
    print_table(("partition", "start", "end", "messages"),
                [(str(p.partition), str(p.start), str(p.end), str(p.end - p.start)) for p in parts])
    groups = run_async(topic_ops.list_groups(bootstrap))
    lags = [run_async(topic_ops.group_lag(bootstrap, g, topic, parts)) for g in groups]
    lags = [lag for lag in lags if any(v is not None for v in lag.committed.values())]
    if lags:
        print_table(("consumer group", "committed", "lag"),
                    [(lag.group, str(sum(v or 0 for v in lag.committed.values())), str(lag.lag)) for lag in lags])
    else:
        console.print("No consumer group has committed offsets on this topic.")


def run() -> None:
    app()

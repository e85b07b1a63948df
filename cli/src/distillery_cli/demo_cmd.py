"""``distillery demo``: the whole loop on this machine, two cycles, in minutes."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from importlib.util import find_spec
from pathlib import Path

import typer

from distillery_cli.common import console, die, friendly
from distillery_cli.extras import install_hint


class Student(StrEnum):
    HOSTED = "hosted"
    SELFHOSTED = "selfhosted"


@friendly
def demo_cmd(
    summary_json: Path | None = typer.Option(None, "--summary-json", help="Write the outcome as JSON here."),
    home: Path = typer.Option(Path(".distillery/demo"), help="Where the demo keeps its files and logs."),
    time_limit: float | None = typer.Option(
        None, help="Stop after this many seconds (default: 900, or 2400 with --student selfhosted)."),
    seed: int = typer.Option(7, help="Seed of the simulated traffic."),
    cycles: int | None = typer.Option(
        None, min=1, max=5, help="Distillation cycles to run to 90/10 (default: 2, or 1 with --student selfhosted)."),
    student: Student = typer.Option(
        Student.HOSTED, help="hosted: the OpenAI sandbox fine-tunes and serves the students (fast). selfhosted: "
        "the trainer fine-tunes SmolLM2-135M with LoRA on this machine's CPU and `distillery serve` serves it: "
        "one smaller cycle, tens of minutes, its configured gates deciding."),
    teacher_regression: float = typer.Option(
        0.0, min=0.0, max=1.0,
        help="Rehearse a teacher regression: once the first dataset is built, this share of the "
        "teacher's fact-bearing answers states a wrong fact. The next candidate learns it and "
        "the evaluator must stop it, leaving production as it was."),
    kafka_bootstrap: str | None = typer.Option(
        None, "--kafka-bootstrap", help="Use this running broker (Apache Kafka, say) instead of starting Tansu: "
        "the demo creates its topics there. Give one that holds no other Distillery data."),
    database_url: str | None = typer.Option(
        None, "--database-url", help="Use this PostgreSQL database instead of starting an embedded one: the demo "
        "runs every service's migrations there. Give an empty one."),
    stay: bool = typer.Option(
        False, "--stay", help="Once the cycles are done and the outcome reported, keep every process "
        "running for a look at the operator console (its URL and a sign-in link are printed) until "
        "Ctrl-C or SIGTERM."),
) -> None:
    """Run the whole loop on simulated voice traffic, on this machine (Ctrl-C stops everything).

    Starts the stack, both sandboxes and every service, feeds simulated calls, and lets the
    system distil, evaluate and roll out on its own."""
    from distillery_cli.demo.plan import DemoPlan
    from distillery_cli.demo.run import ExistingStack, run_demo

    if (kafka_bootstrap is None) != (database_url is None):
        die("--kafka-bootstrap and --database-url go together: give both to run on an existing stack, "
            "or neither to let the demo start its own")
    existing = ExistingStack(kafka_bootstrap, database_url) if kafka_bootstrap and database_url else None

    sizes = {"seed": seed, "teacher_regression": teacher_regression}
    sizes |= {"cycles": cycles} if cycles is not None else {}
    sizes |= {"time_limit_s": time_limit} if time_limit is not None else {}
    if student is Student.SELFHOSTED:
        missing = [extra for extra in ("students", "trainer") if find_spec(f"distillery_{extra}") is None]
        if missing:
            die(install_hint(missing[0]))
        plan = DemoPlan.selfhosted(**sizes)
    else:
        plan = DemoPlan(**sizes)  # type: ignore[arg-type]
    code = asyncio.run(run_demo(plan, home.resolve(), summary_json, console, stay=stay, existing=existing))
    raise typer.Exit(code)

"""``distillery demo``: the whole loop on this machine, two cycles, in minutes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from distillery_cli.common import console


def demo_cmd(
    summary_json: Path | None = typer.Option(None, "--summary-json", help="Write the outcome as JSON here."),
    home: Path = typer.Option(Path(".distillery/demo"), help="Where the demo keeps its files and logs."),
    time_limit: float = typer.Option(900.0, help="Stop after this many seconds."),
    seed: int = typer.Option(7, help="Seed of the simulated traffic."),
    cycles: int = typer.Option(2, min=1, max=5, help="Distillation cycles to run to 90/10."),
    teacher_regression: float = typer.Option(
        0.0, min=0.0, max=1.0,
        help="Rehearse a teacher regression: once the first dataset is built, this share of the "
        "teacher's fact-bearing answers states a wrong fact. The next candidate learns it and "
        "the evaluator must stop it, leaving production as it was."),
) -> None:
    """Start the stack, both sandboxes and all six services, feed simulated voice traffic,
    and let the system distil, evaluate and roll out on its own (Ctrl-C stops everything)."""
    from distillery_cli.demo.plan import DemoPlan
    from distillery_cli.demo.run import run_demo

    plan = DemoPlan(seed=seed, cycles=cycles, time_limit_s=time_limit, teacher_regression=teacher_regression)
    code = asyncio.run(run_demo(plan, home.resolve(), summary_json, console))
    raise typer.Exit(code)

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
) -> None:
    """Start the stack, both sandboxes and all six services, feed simulated voice traffic,
    and let the system distil, evaluate and roll out on its own (Ctrl-C stops everything)."""
    from distillery_cli.demo.plan import DemoPlan
    from distillery_cli.demo.run import run_demo

    plan = DemoPlan(seed=seed, cycles=cycles, time_limit_s=time_limit)
    code = asyncio.run(run_demo(plan, home.resolve(), summary_json, console))
    raise typer.Exit(code)

"""``distillery eval``: ask for offline evaluations and read their results."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Column, Table
from rich.text import Text

from distillery_cli.common import console, die, friendly, print_table, run_async, send_command, settings
from distillery_contracts.commands import RunEvaluation

T = TypeVar("T")

eval_app = typer.Typer(help="Evaluate students offline and read the verdicts.", no_args_is_help=True)


@eval_app.command("run")
@friendly
def run_cmd(
    model: Annotated[str, typer.Option("--model", help="Model to evaluate.", show_default=False)],
    baseline: Annotated[list[str] | None, typer.Option(
        "--baseline", help="Model to compare with besides the teacher (repeatable); "
        "default: the production student.")] = None,
    dataset: Annotated[str | None, typer.Option(
        "--dataset", help="Dataset whose validation split to use; default: the latest.")] = None,
    requested_by: Annotated[str, typer.Option("--as", help="Who asks, for the record.")] = "cli",
) -> None:
    """Ask the evaluator to run an offline evaluation of MODEL."""
    command = RunEvaluation(model=model, baselines=baseline or [], dataset_id=dataset,
                            requested_by=requested_by)
    send_command(command)
    from distillery_evaluator.views import run_id_of

    run_id = run_id_of(command)
    console.print(f"Requested evaluation [bold]{run_id}[/] of {model}; follow it with "
                  f"'distillery eval show {run_id}'.", highlight=False)


@eval_app.command("golden-set")
@friendly
def golden_set_cmd(
    out: Annotated[Path, typer.Option("--out", help="Where to write the JSONL file.", show_default=False)],
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Write at most N items.")] = None,
) -> None:
    """Write the sandbox golden set (prompts, facts, reference answers) as JSONL."""
    from distillery_evaluator.views import golden_set_file
    from distillery_sandbox.golden import write_golden_set

    try:
        write_golden_set(out, limit)
    except OSError as exc:
        die(f"cannot write {out}: {exc.strerror or exc}")
    golden = run_async(golden_set_file(out))
    console.print(f"Wrote {golden.size} golden items to {out} (version {golden.version}).",
                  highlight=False)


@eval_app.command("list")
@friendly
def list_cmd(limit: Annotated[int, typer.Option("--limit", min=1)] = 20) -> None:
    """The latest evaluation runs and their verdicts."""
    from distillery_evaluator.views import latest_runs

    runs = _read(latest_runs, limit)
    if not runs:
        console.print("No evaluation runs yet.")
        return
    print_table((Column("run", no_wrap=True), "status", "outcome", Column("candidate", overflow="fold"), "trigger",
                 "requested", "completed"),
                [(r.run_id, r.status, _outcome(r.outcome), r.candidate_model, r.trigger,
                  f"{r.requested_at:%Y-%m-%d %H:%M}", f"{r.completed_at:%Y-%m-%d %H:%M}" if r.completed_at else "")
                 for r in runs])


@eval_app.command("show")
@friendly
def show_cmd(run_id: Annotated[str, typer.Argument(help="Run id (from 'distillery eval list').")]) -> None:
    """The summary of one run: verdict, gates with their numbers, metrics, report."""
    from distillery_evaluator.views import run_by_id

    record = _read(run_by_id, run_id)
    if record is None:
        die(f"no evaluation run {run_id!r}; see 'distillery eval list'")
    verdict = _outcome_text(record.outcome or record.status)
    console.print(Text.assemble((f"{record.run_id}  ", "bold"), verdict))
    console.print(f"candidate {record.candidate_model}   teacher {record.teacher_model}", highlight=False)
    result = record.result
    if result.get("production_model"):
        console.print(f"compared with {result['production_model']}", highlight=False)
    if result.get("error_message"):
        console.print(Text(f"error: {result['error_message']}", style="red"))
    for ref in result.get("eval_sets", []):
        console.print(f"eval set {ref['name']} {ref['version']} ({ref.get('size')} prompts)", highlight=False)
    if result.get("gates"):
        console.print(_gate_table(result["gates"]))
    if result.get("metrics"):
        console.print(_metrics_table(result["metrics"]))
    notes = record.notes
    console.print(f"scorers: {', '.join(result.get('scorers_ran', [])) or 'none'}", highlight=False)
    for skipped in notes.get("skipped_scorers", []) + notes.get("skipped_gates", []):
        console.print(Text(f"not evaluated: {skipped}", style="yellow"))
    if result.get("report_uri"):
        console.print(f"report: {result['report_uri']}", highlight=False)


def _gate_table(gates: list[dict[str, Any]]) -> Table:
    table = Table("gate", "value", "must be", "threshold", "n", "result", "detail")
    for g in gates:
        table.add_row(g["name"], _num(g["value"]), g["comparator"], _num(g["threshold"]), str(g["n"]),
                      "[green]pass[/]" if g["passed"] else "[bold red]FAIL[/]", Text(g.get("detail") or ""))
    return table


def _metrics_table(metrics: dict[str, dict[str, Any]]) -> Table:
    table = Table("model", "n", "halluc.", "win/tie/loss", "similarity", "p50 ms", "p95 ms",
                  "errors", "$/call")
    for model, m in metrics.items():
        wtl = "/".join(_num(m.get(k), 2) for k in ("win_rate", "tie_rate", "loss_rate"))
        table.add_row(model, str(m["n"]), _num(m.get("hallucination_rate")), wtl,
                      _num(m.get("similarity_mean")), _num(m.get("latency_p50_ms"), 4),
                      _num(m.get("latency_p95_ms"), 4), _num(m.get("error_rate")),
                      _num(m.get("cost_per_call_usd")))
    return table


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def _outcome(outcome: str | None) -> str:
    return {"passed": "[green]passed[/]", "failed": "[red]failed[/]",
            "error": "[bold red]error[/]"}.get(outcome or "", "")


def _outcome_text(outcome: str) -> Text:
    return Text(outcome.upper(), style={"passed": "bold green", "failed": "bold red",
                                        "error": "bold red"}.get(outcome, "yellow"))


def _read(query: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
    """Run one of the evaluator's views; its tables do not exist before the evaluator first ran."""
    try:
        return run_async(query(settings().require_database_url(), *args))
    except Exception as exc:
        die(f"cannot read evaluations: {_first_line(exc)} (has the evaluator run yet?)")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]

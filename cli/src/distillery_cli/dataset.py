"""``distillery dataset``: inspect fine-tuning files and the datasets the builder made."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from distillery_dataset_builder.domain.limits import UnknownLimitsError
from distillery_dataset_builder.domain.report import ValidationReport
from distillery_runtime.tokens import UnknownModelError
from distillery_dataset_builder.domain.validation import size_text, validate_jsonl

DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"
SHOWN_ERRORS = 50

dataset_app = typer.Typer(help="Validate and inspect fine-tuning datasets.", no_args_is_help=True)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@dataset_app.command("validate")
def validate_cmd(
    file: Annotated[Path, typer.Argument(help="The JSONL training file to check.", show_default=False)],
    model: Annotated[
        str, typer.Option("--model", help="Base model the file will fine-tune.")
    ] = DEFAULT_MODEL,
    epochs: Annotated[
        int | None,
        typer.Option(
            "--epochs",
            min=1,
            help="Epochs for the cost estimate; default: OpenAI's rule for the file's size.",
        ),
    ] = None,
) -> None:
    """Check FILE against OpenAI's chat fine-tuning rules and estimate its training cost.

    Exits 0 when the file is valid, 1 when it is not, 2 when it cannot be checked.
    """
    if not file.is_file():
        _fail(f"no such file: {file}" if not file.exists() else f"not a file: {file}")
    try:
        report = validate_jsonl(file, model, epochs)
    except (UnknownModelError, UnknownLimitsError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror or exc}")
    _print_errors(report)
    console.print(_summary_table(report))
    if report.training is not None and report.training.cost_note:
        console.print(Text(report.training.cost_note, style="yellow"), soft_wrap=True)
    if not report.is_valid:
        console.print(
            Text(
                f"✗ invalid: {report.error_count:,} error(s) in {report.invalid_examples:,} of "
                f"{report.examples:,} example(s)",
                style="bold red",
            )
        )
        raise typer.Exit(1)
    console.print(
        Text(f"✓ valid: {report.examples:,} examples ready to fine-tune {model}", style="bold green")
    )


def _fail(message: str) -> NoReturn:
    err_console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)
    raise typer.Exit(2)


def _print_errors(report: ValidationReport) -> None:
    # Text() keeps brackets in users' data from being read as Rich markup.
    for error in report.errors[:SHOWN_ERRORS]:
        console.print(Text(str(error)), soft_wrap=True)
    hidden = report.error_count - min(len(report.errors), SHOWN_ERRORS)
    if hidden > 0:
        console.print(Text(f"... and {hidden:,} more error(s)", style="yellow"))


def _summary_table(report: ValidationReport) -> Table:
    table = Table(title=f"{report.path} for {report.limits.model}", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("examples", f"{report.examples:,} ({report.invalid_examples:,} invalid)")
    table.add_row(
        "file size", f"{size_text(report.file_bytes)} of {size_text(report.limits.max_file_bytes)} allowed"
    )
    stats = report.tokens
    if stats is not None:
        table.add_row("tokens, total", f"{stats.total:,}")
        table.add_row("tokens per example", f"min {stats.min:,} · mean {stats.mean:,.0f} · max {stats.max:,}")
        table.add_row("tokens p50 / p95", f"{stats.p50:,} / {stats.p95:,}")
        table.add_row("limit per example", f"{report.limits.max_example_tokens:,}")
    training = report.training
    if training is not None:
        source = "OpenAI's default for this size" if training.epochs_defaulted else "given"
        table.add_row("epochs", f"{training.epochs} ({source})")
        table.add_row("estimated training tokens", f"{training.billable_tokens:,}")
        table.add_row("estimated training cost", _dollars(training.cost_usd))
    return table


def _dollars(amount: float | None) -> str:
    if amount is None:
        return "unknown"
    return f"${amount:,.2f}" if amount >= 1 else f"${amount:.4f}"

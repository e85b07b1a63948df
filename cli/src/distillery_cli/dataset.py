"""``distillery dataset``: validate fine-tuning files, request builds, inspect and compare datasets."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from distillery_cli.common import friendly, run_async, send_command, settings
from distillery_contracts.commands import BuildDataset
from distillery_runtime.tokens import UnknownModelError

if TYPE_CHECKING:
    from distillery_dataset_builder.views import ValidationReport

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
    from distillery_dataset_builder.views import UnknownLimitsError, validate_file

    if not file.is_file():
        _fail(f"no such file: {file}" if not file.exists() else f"not a file: {file}")
    try:
        report = validate_file(file, model, epochs)
    except (UnknownModelError, UnknownLimitsError) as exc:
        _fail(f"{exc}; an open-weights student reads the file through its own tokenizer: "
              f"'distillery train --check --data {file} --base-model {model}' says what its --max-length cuts")
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
    from distillery_dataset_builder.views import size_text

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


@dataset_app.command("build")
@friendly
def build_cmd(
    target_size: Annotated[int | None, typer.Option("--target-size", min=10, help="Examples to select.")] = None,
    base_model: Annotated[str | None, typer.Option("--base-model", help="Model to fine-tune.")] = None,
    cycle_id: Annotated[str | None, typer.Option("--cycle-id", help="Cycle to attach the build to.")] = None,
) -> None:
    """Ask the dataset-builder to build a dataset now; it announces the result on datasets.built."""
    from distillery_dataset_builder.views import UnknownLimitsError, model_limits

    if base_model is not None:
        try:
            model_limits(base_model)
        except (UnknownLimitsError, UnknownModelError) as exc:
            _fail(str(exc))
    command = BuildDataset(target_size=target_size, base_model=base_model, cycle_id=cycle_id,
                           requested_by=getpass.getuser())
    send_command(command)
    console.print(f"Build requested (command {command.command_id}); follow it with 'distillery dataset list'.")


@dataset_app.command("list")
@friendly
def list_cmd() -> None:
    """Every dataset, newest first, and the builds that failed."""
    from distillery_dataset_builder.views import list_datasets

    listing = run_async(list_datasets(settings().require_database_url()))
    found, failures = listing.datasets, listing.failures
    if not found:
        console.print("No datasets yet.")
    else:
        table = Table("dataset", "version", "status", "cycle", "trigger", "train", "validation", "train tokens",
                      "est. cost", "published (UTC)", title="Datasets", title_justify="left")
        for d in found:
            m = d.manifest or {}
            table.add_row(d.dataset_id, str(d.version), d.status, d.cycle_id, d.trigger, _n(d.count("train")),
                          _n(d.count("validation")), _n(m.get("token_stats", {}).get("train_tokens")),
                          _dollars(m["estimated_training"]["cost_usd"]) if m else "",
                          f"{d.published_at:%Y-%m-%d %H:%M}" if d.published_at else "")
        console.print(table)
    if failures:
        failed = Table("dataset", "trigger", "failed (UTC)", "reason", title="Failed builds", title_justify="left")
        for f in failures:
            failed.add_row(f.dataset_id, f.trigger, f"{f.failed_at:%Y-%m-%d %H:%M}", Text(f.reason))
        console.print(failed)


@dataset_app.command("show")
@friendly
def show_cmd(dataset_id: Annotated[str, typer.Argument(help="Dataset id, e.g. ds-0003.")]) -> None:
    """Files, counts, tokens, cost, lineage and selection of one dataset."""
    from distillery_dataset_builder.views import UnknownDataset, dataset_details, size_text

    try:
        found = run_async(dataset_details(settings().require_database_url(), dataset_id))
    except UnknownDataset as exc:
        _fail(str(exc))
    d, m = found.summary, found.summary.manifest
    counts, tokens = m["counts"], m["token_stats"]
    table = Table(title=f"{d.dataset_id} (version {d.version}, {d.cycle_id})", show_header=False,
                  title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("trigger / published", f"{d.trigger} / {d.published_at:%Y-%m-%d %H:%M:%S} UTC")
    table.add_row("base model / epochs", f"{d.base_model} / {m['epochs']}")
    for name in ("train", "validation", "manifest"):
        f = d.files[name]
        table.add_row(f"{name} file", Text(f"{f['uri']}\n{size_text(f['size_bytes'])} · sha256 {f['sha256']}"))
    for split in ("train", "validation"):
        table.add_row(f"{split} examples", f"{m['files'][split]['examples']:,} from "
                      f"{m['files'][split]['sessions']:,} sessions · strata {_strata(m['strata'][split])}")
    table.add_row("candidates", f"{counts['candidate_examples']:,} ({counts['dropped_by_session_cap']:,} over "
                  f"the per-session cap)")
    excluded = counts["excluded_eval_near_duplicates"]
    table.add_row("eval near-duplicates left out", f"{excluded['total']:,} ({_strata(excluded, skip='total')})")
    invalid = counts["invalid_dropped"]
    table.add_row("invalid examples dropped", f"{invalid['train'] + invalid['validation']:,} "
                  f"({_strata(invalid['by_rule']) or 'none'})")
    per = tokens["train_per_example"] or {}
    table.add_row("tokens", f"train {tokens['train_tokens']:,} · validation {tokens['validation_tokens']:,} · "
                  f"per example mean {per.get('mean', 0):,.0f} p50 {per.get('p50', 0):,} "
                  f"p95 {per.get('p95', 0):,} max {per.get('max', 0):,}")
    table.add_row("estimated training cost", _dollars(m["estimated_training"]["cost_usd"]))
    table.add_row("source time range", f"{m['source_time_range']['start']} → {m['source_time_range']['end']}")
    table.add_row("cleaner", f"{', '.join(m['cleaner_versions'])} (config {', '.join(m['cleaner_config_hashes'])})")
    sel = m["selection"]
    table.add_row("selection", f"target {sel['target_size']:,} · cap {sel['max_examples_per_session']} per "
                  f"session · stratify {', '.join(sel['stratify_by']) or 'off'} "
                  f"({sel['extra']['stratify_mode']}) · validation {sel['validation_fraction']:.0%} · "
                  f"near-duplicate at {sel['near_duplicate_threshold']}")
    if found.retracted_since:
        table.add_row("retracted since", Text(f"{found.retracted_since:,} examples", style="yellow"))
    console.print(table)


@dataset_app.command("diff")
@friendly
def diff_cmd(first: Annotated[str, typer.Argument(help="The earlier dataset.")],
             second: Annotated[str, typer.Argument(help="The later dataset.")]) -> None:
    """What was added and removed between two datasets, and how tokens and tags moved."""
    from distillery_dataset_builder.views import UnknownDataset, compare_datasets

    try:
        diff = run_async(compare_datasets(settings().require_database_url(), first, second))
    except UnknownDataset as exc:
        _fail(str(exc))
    o = diff.overlap
    console.print(f"{first} → {second}: {o.added:,} added, {o.removed:,} removed, {o.kept:,} in both")
    figures = Table("figure", first, second, "change", title="Size, tokens and cost", title_justify="left")
    for s in diff.figures:
        change = f"{s.change:+,.2f}".rstrip("0").rstrip(".") + (f" ({s.relative:+.1%})" if s.relative else "")
        figures.add_row(s.name, _num(s.before), _num(s.after), change)
    console.print(figures)
    tags = Table("tag", first, second, "share change", title="Tag distribution", title_justify="left")
    for t in diff.tags:
        tags.add_row(Text(t.tag), f"{t.before:,} ({t.share_before:.1%})", f"{t.after:,} ({t.share_after:.1%})",
                     f"{t.points:+.1f} pp")
    console.print(tags)


def _n(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _num(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _strata(counts: dict[str, int], skip: str = "") -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()) if k != skip)

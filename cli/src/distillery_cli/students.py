"""``distillery train`` and ``distillery serve``: a student the user owns, without broker or database.

The library (``distillery_students``, PyTorch and transformers) is imported when a command
runs, not when the CLI starts: ``distillery --help`` stays fast.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from distillery_cli.common import console, die, err_console
from distillery_cli.dataset import DEFAULT_MODEL

if TYPE_CHECKING:
    from distillery_students.domain.check import BuilderComparison, DataCheck

MODEL_CACHE_HELP = "Where short-named base models are converted once (default: <DISTILLERY_HOME>/models)."


def train_cmd(
    data: Annotated[Path, typer.Option("--data", help="OpenAI chat JSONL, as the dataset-builder writes it.")],
    base_model: Annotated[str, typer.Option("--base-model", help="smollm2-135m, or a local checkpoint directory.")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Directory the adapter and its model card appear in (required unless --check).")] = None,
    epochs: Annotated[float, typer.Option(help="Passes over the data.")] = 3,
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate (1e-3 suits a 135M model).")] = 2e-4,
    lora_rank: Annotated[int, typer.Option(help="LoRA rank r.")] = 16,
    lora_alpha: Annotated[int | None, typer.Option(help="LoRA alpha (default: twice the rank).")] = None,
    target_modules: Annotated[str, typer.Option(help="all-linear, or module names separated by commas.")] = "all-linear",
    batch_size: Annotated[int, typer.Option(help="Examples per optimizer step.")] = 8,
    micro_batch_size: Annotated[int, typer.Option(help="Examples per forward pass.")] = 2,
    max_length: Annotated[int, typer.Option(help="Tokens an example is cut to.")] = 2048,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many steps.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    checkpoint_every: Annotated[int, typer.Option(help="Steps between checkpoints.")] = 50,
    dataset_id: Annotated[str | None, typer.Option(help="Dataset id recorded in the model card.")] = None,
    model_cache: Annotated[Path | None, typer.Option(help=MODEL_CACHE_HELP)] = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Train nothing: count the file's tokens as this base model reads them and say which "
        "examples --max-length cuts and how many steps the job takes. Exits 1 when the file cannot be trained on.")
    ] = False,
    builder_model: Annotated[str, typer.Option(
        help="With --check: the base model the dataset-builder counts tokens for (its DISTILLERY_DATASET_BASE_MODEL), "
        "to compare its counts with this model's.")] = DEFAULT_MODEL,
) -> None:
    """Train one LoRA adapter from a JSONL file; re-run into the same --out to resume."""
    from pydantic import ValidationError

    from distillery_students.domain.dataset import DatasetError
    from distillery_students.domain.settings import TrainingSettings
    from distillery_students.errors import StudentError
    from distillery_runtime.tokens import UnknownModelError
    from distillery_students.training import TrainingProgress, check_data, train_adapter

    try:
        settings = TrainingSettings(
            base_model=base_model, epochs=epochs, learning_rate=learning_rate, lora_rank=lora_rank,
            lora_alpha=lora_alpha or 2 * lora_rank, batch_size=batch_size, micro_batch_size=micro_batch_size,
            target_modules=target_modules if target_modules == "all-linear" else target_modules.split(","),
            max_length=max_length, max_steps=max_steps, seed=seed, checkpoint_every=checkpoint_every)
    except ValidationError as exc:
        first = exc.errors()[0]
        die(f"{'.'.join(map(str, first['loc'])) or 'settings'}: {first['msg'].removeprefix('Value error, ')}")
    _quiet_libraries()
    if check:
        try:
            with console.status(f"reading {data} as {base_model} does"):
                result, builder = check_data(data, settings, cache_dir=model_cache, builder_model=builder_model)
        except DatasetError as exc:
            for line in exc.details():
                err_console.print(line, highlight=False, soft_wrap=True, markup=False)
            die(f"{data} cannot be trained on: {len(exc.problems)} bad line(s)", code=1)
        except (StudentError, UnknownModelError) as exc:
            die(str(exc))
        print_check(data, result, builder)
        raise typer.Exit(0 if result.trainable else 1)
    if out is None:
        die("--out is required: the directory the adapter appears in (or --check to only check the file)")
    with Progress(TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task("", total=None, visible=False)  # shown from the first step on

        def on_progress(progress: TrainingProgress) -> None:
            eta = f"{progress.eta_seconds:.0f}s left" if progress.eta_seconds is not None else ""
            speed = f"{progress.tokens_per_second:.0f} tok/s" if progress.tokens_per_second else ""
            bar.update(task, total=progress.total_steps, completed=progress.step, visible=True,
                       description=f"loss {progress.loss:.4f}  epoch {progress.epoch:.2f}  {speed}  {eta}")

        def on_data(read: DataCheck) -> None:
            bar.console.print(read.summary(), highlight=False, soft_wrap=True)
            if (warning := read.warning()) is not None:
                bar.console.print(f"[bold yellow]![/] {warning}", highlight=False, soft_wrap=True)

        try:
            card = train_adapter(data, settings, out, dataset_id=dataset_id, on_progress=on_progress, on_data=on_data,
                                 cache_dir=model_cache)
        except (DatasetError, StudentError) as exc:
            failure: str | None = str(exc)
        else:
            failure = None
    if failure is not None:
        die(failure)
    loss = f"{card.final_loss:.4f}" if card.final_loss is not None else "n/a"
    console.print(f"Adapter {out} ({card.adapter.bytes / 1e6:.1f} MB, sha256 {card.adapter.sha256[:12]}): "
                  f"{card.steps} steps, {card.dataset.examples} examples, final loss {loss}, "
                  f"{card.train_seconds:.0f}s of training.", highlight=False, soft_wrap=True)


def print_check(data: Path, result: DataCheck, builder: BuilderComparison | None = None) -> None:
    """What ``train --check`` found, as a table and a verdict."""
    s = result.settings
    lengths = sorted(result.lengths)
    table = Table(title=f"{data} for {s.base_model}, max_length {s.max_length:,}", title_justify="left",
                  show_header=False, box=box.SQUARE)
    table.add_row("examples", f"{result.examples:,}")
    table.add_row("tokens per example (its own tokenizer)",
                  f"min {lengths[0]:,} · p50 {_at(lengths, 0.5):,} · p95 {_at(lengths, 0.95):,} · max {lengths[-1]:,}")
    table.add_row("longer than max_length", f"{len(result.cut_lines):,}{_lines(result.cut_lines)}")
    table.add_row("  cut inside a taught answer", f"{len(result.partial_lines):,}{_lines(result.partial_lines)}")
    table.add_row("  left nothing to learn (skipped)",
                  f"{len(result.unusable_lines):,}{_lines(result.unusable_lines)}")
    table.add_row("tokens per epoch", f"{result.tokens_per_epoch:,} ({result.learned_per_epoch:,} carry loss)")
    epochs = f"max_steps {s.max_steps}" if s.max_steps else f"{s.epochs:g} epochs"
    table.add_row("optimizer steps", f"{result.steps_per_epoch:,} per epoch, {result.steps:,} in all "
                                     f"({epochs}, {s.batch_size} examples a step)")
    console.print(table)
    if builder is not None:
        console.print(f"The dataset-builder counts these examples with {builder.model}'s tokenizer; "
                      f"{s.base_model} reads {builder.lowest:.2f}-{builder.highest:.2f} times as many tokens, so "
                      f"DISTILLERY_DATASET_MAX_EXAMPLE_TOKENS={builder.limit} keeps examples like these within "
                      f"max_length {s.max_length:,}.", highlight=False, soft_wrap=True)
    if not result.trainable:
        console.print(f"[bold red]✗[/] no example keeps a learned token within max_length {s.max_length:,}: "
                      f"raise --max-length to at least {lengths[0]:,}", highlight=False)
    elif (warning := result.warning()) is not None:
        console.print(f"[bold yellow]![/] {warning}", highlight=False)
    else:
        console.print("[bold green]✓[/] every taught answer fits", highlight=False)


def _at(ordered: list[int], share: float) -> int:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _lines(lines: list[int], most: int = 5) -> str:
    if not lines:
        return ""
    more = f" and {len(lines) - most:,} more" if len(lines) > most else ""
    return f" (line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines[:most]))}{more})"


def serve_cmd(
    base_model: Annotated[str, typer.Option("--base-model", help="smollm2-135m, or a local checkpoint directory.")],
    adapter: Annotated[list[str] | None, typer.Option(
        "--adapter", help="NAME=DIR of an adapter to serve under NAME (repeatable).")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    served_name: Annotated[str | None, typer.Option(
        help="The base model's name in the model field (default: --base-model as given).")] = None,
    model_cache: Annotated[Path | None, typer.Option(help=MODEL_CACHE_HELP)] = None,
) -> None:
    """Serve the base model and adapters over vLLM's OpenAI-compatible API subset."""
    from distillery_students.errors import StudentError
    from distillery_students.serving.server import build_engine, serve

    adapters = []
    for item in adapter or []:
        name, sep, directory = item.partition("=")
        if not sep or not name or not directory:
            die(f"--adapter {item}: expected NAME=DIR")
        adapters.append((name, Path(directory)))
    _quiet_libraries()
    try:
        with console.status(f"loading {base_model}"):
            engine = build_engine(base_model, adapters, served_name=served_name, cache_dir=model_cache)
    except StudentError as exc:
        die(str(exc))
    names = ", ".join([engine.base_name, *engine.adapters])
    console.print(f"Serving {names} at http://{host}:{port}/v1 on {engine.device.name}", highlight=False)
    serve(engine, host, port)


def _quiet_libraries() -> None:
    """transformers' and datasets' own bars and notices would tear the progress bar."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' own bars follow it
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.getLogger("transformers").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="transformers")

"""``distillery clean``: the cleaner's exact logic on a Langfuse export, without broker or database.

Observations are read as the Langfuse v2 observations API returns them (one JSON object
a line), scores as the v3 scores API returns them; both go through the trace-ingester's
own mapping, then through the cleaner's own logic (``OfflineCleaner``, an in-memory dedup index).
Lines that are not UTF-8, not JSON, not an object, not an observation, too long or nested
too deeply are reported with their line numbers and skipped; they never stop the run. A
line holding a lone surrogate or NUL is read with U+FFFD in their place, as the service
reads it (``distillery_runtime.text``), and reported as repaired. Observations of other types (spans,
events) are counted and skipped; generations that cannot be read are rejected as
``unmappable`` when their lineage is known.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, TextIO

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from distillery_cleaner.config import load_cleaner_config, parse_pii_processes, pii_workers
from distillery_contracts.examples import ExampleAccepted, ExampleRejected, Lineage
from distillery_contracts.traces import TraceCaptured
from distillery_runtime.errors import ConfigError
from distillery_runtime.text import read_lines
from distillery_trace_ingester.services import (
    BadLine,
    RepairedLine,
    UnmappableObservation,
    group_by_observation,
    observation_to_trace,
    read_records,
)

if TYPE_CHECKING:  # imported where a run starts: Presidio and spaCy take a second, --help none
    from distillery_cleaner.services import OfflineCleaner

BATCH = 1000
SHOWN_LINE_NOTES = 20
AUTO_WORKERS_FROM_BYTES = 32 * 2**20
"""``--pii-processes auto`` starts worker processes only for an export of this size or more
(about 4,000 generations): each worker loads Presidio and spaCy's model, ~3.5 s of a core,
before it helps, which a smaller export does not repay. With two workers on two cores
(docs/benchmarks.md), 1,000 sandbox generations (7 MiB) took 7.3 s in one process and 8.9 s
with the workers, 4,000 (28 MiB) 15.1 and 15.3 s, 5,000 (35 MiB) 17.1 and 15.9 s."""

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class OutputFormat(StrEnum):
    events = "events"
    openai = "openai"


@dataclass
class Summary:
    """What one offline run read and decided."""

    lines: int = 0
    generations: int = 0
    other_types: int = 0
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    redactions: Counter[str] = field(default_factory=Counter)
    skipped_lines: int = 0
    repaired_lines: int = 0
    line_notes: list[str] = field(default_factory=list)
    """Each skipped or repaired line, with its file, number and reason, in the order read."""

    def skipped(self, note: str) -> None:
        self.skipped_lines += 1
        self.line_notes.append(f"skipped {note}")

    def repaired(self, note: str) -> None:
        self.repaired_lines += 1
        self.line_notes.append(f"repaired {note}")


def clean(
    input: Annotated[Path, typer.Option("--input", help="Observations (Langfuse v2 API objects), JSONL.",
                                        show_default=False)],
    accepted: Annotated[Path, typer.Option("--accepted", help="Where accepted examples go (JSONL).",
                                           show_default=False)],
    rejected: Annotated[Path, typer.Option("--rejected", help="Where rejections go (JSONL).",
                                           show_default=False)],
    scores: Annotated[Path | None, typer.Option("--scores", help="Scores (Langfuse v3 API objects), JSONL.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Cleaner configuration, JSON or TOML.")] = None,
    project: Annotated[str, typer.Option("--project", help="Langfuse project id for the lineage.")] = "default",
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", help="events: ExampleAccepted records, as the service publishes them; "
        "openai: fine-tuning lines (messages, tools).")] = OutputFormat.events,
    pii_processes: Annotated[str, typer.Option(
        "--pii-processes", metavar="<N|auto>", help="Find personal data in this many worker processes, as the "
        "service's DISTILLERY_CLEANER_PII_PROCESSES (0: in this one; auto: with NER on, one per core, "
        "at most 3, for an export of 32 MiB or more).")] = "auto",
) -> None:
    """Clean a Langfuse export offline: the same filters, PII rules and dedup as the service.

    Exits 0 when the run completed (bad lines are reported, not fatal), 2 when it cannot run.
    """
    for path in (input, scores):
        if path is not None and not path.is_file():
            _fail(f"no such file: {path}" if not path.exists() else f"not a file: {path}")
    try:
        workers = parse_pii_processes(pii_processes)
    except ValueError as exc:
        _fail(f"--pii-processes: {exc}")
    try:
        rules = load_cleaner_config(config)
        from distillery_cleaner.services import OfflineCleaner

        processes = offline_workers(workers, rules.pii.ner, input.stat().st_size)
        cleaner = OfflineCleaner(rules, processes)
    except ConfigError as exc:
        _fail(str(exc))
    summary = Summary()
    try:
        by_observation = _read_scores(scores, summary) if scores is not None else {}
        with accepted.open("w", encoding="utf-8") as acc, rejected.open("w", encoding="utf-8") as rej:
            asyncio.run(_run(cleaner, input, by_observation, project, summary, acc, rej, output_format))
    except OSError as exc:
        _fail(f"cannot read or write {exc.filename}: {exc.strerror or exc}")
    finally:
        cleaner.close()
    _print_line_notes(summary)
    console.print(_summary_table(summary, cleaner, accepted, rejected, processes))


async def _run(cleaner: OfflineCleaner, path: Path, scores: dict[str, list[dict[str, Any]]], project: str,
               summary: Summary, acc: TextIO, rej: TextIO, output_format: OutputFormat) -> None:
    ingested_at = datetime.now(UTC)
    batch: list[TraceCaptured] = []
    for item in _observations(path, summary):
        line, record = item
        try:
            batch.append(observation_to_trace(record, scores.get(record["id"], []), project, ingested_at))
        except UnmappableObservation as exc:
            _unmappable(cleaner, line, record, project, exc.reason, summary, rej)
            continue
        summary.generations += 1
        if len(batch) >= BATCH:
            _write(await cleaner.clean(batch), summary, acc, rej, output_format)
            batch = []
    if batch:
        _write(await cleaner.clean(batch), summary, acc, rej, output_format)


def _observations(path: Path, summary: Summary) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of each generation, each observation id once (exports overlap)."""
    first_seen: dict[str, int] = {}
    with path.open("rb") as handle:
        for number, record in read_records(_counted(read_lines(handle), summary), _bad_line_of(path, summary),
                                           _repaired_line_of(path, summary)):
            kind = record.get("type")
            if kind not in (None, "GENERATION"):
                summary.other_types += 1
                continue
            seen_at = first_seen.setdefault(record["id"], number)
            if seen_at != number:
                summary.skipped(f"{path.name} line {number}: the observation of line {seen_at} again")
                continue
            yield number, record


def _counted(lines: Iterable[bytes], summary: Summary) -> Iterator[bytes]:
    for line in lines:
        summary.lines += 1
        yield line


def _bad_line_of(path: Path, summary: Summary) -> Callable[[BadLine], None]:
    return lambda exc: summary.skipped(f"{path.name} {exc}")


def _repaired_line_of(path: Path, summary: Summary) -> Callable[[RepairedLine], None]:
    return lambda note: summary.repaired(f"{path.name} {note}")


def _read_scores(path: Path, summary: Summary) -> dict[str, list[dict[str, Any]]]:
    with path.open("rb") as handle:
        rows = [record for _, record in read_records(read_lines(handle), _bad_line_of(path, summary),
                                                     _repaired_line_of(path, summary))]
    return group_by_observation(rows)


def _unmappable(cleaner: OfflineCleaner, line: int, record: dict[str, Any], project: str, reason: str,
                summary: Summary, rej: TextIO) -> None:
    """A generation that cannot be read: a rejection when its lineage is known, else a bad line."""
    lineage = _lineage(record, project)
    if lineage is None:
        summary.skipped(f"line {line}: not a usable observation ({reason})")
        return
    summary.generations += 1
    event = cleaner.reject_unmappable(lineage, reason)
    summary.rejected[event.reason.value] += 1
    rej.write(event.model_dump_json() + "\n")


def _lineage(record: dict[str, Any], project: str) -> Lineage | None:
    try:
        return Lineage(project_id=project, observation_id=str(record["id"]), trace_id=str(record["traceId"]),
                       session_id=record.get("sessionId"),
                       captured_at=datetime.fromisoformat(str(record["startTime"])),
                       model=record.get("providedModelName"))
    except (KeyError, TypeError, ValueError):
        return None


def _write(events: list[ExampleAccepted | ExampleRejected], summary: Summary, acc: TextIO, rej: TextIO,
           output_format: OutputFormat) -> None:
    for event in events:
        if isinstance(event, ExampleAccepted):
            summary.accepted += 1
            summary.redactions.update(event.redactions)
            if output_format is OutputFormat.openai:
                acc.write(_fine_tuning_line(event) + "\n")
            else:
                acc.write(event.model_dump_json() + "\n")
        else:
            summary.rejected[event.reason.value] += 1
            rej.write(event.model_dump_json() + "\n")


def _fine_tuning_line(event: ExampleAccepted) -> str:
    line: dict[str, Any] = {"messages": [m.model_dump(exclude_none=True) for m in event.messages]}
    if event.tools:
        line["tools"] = [t.model_dump(exclude_none=True) for t in event.tools]
    return json.dumps(line, ensure_ascii=False)


def _fail(message: str) -> NoReturn:
    err_console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)
    raise typer.Exit(2)


def _print_line_notes(summary: Summary) -> None:
    for note in summary.line_notes[:SHOWN_LINE_NOTES]:
        console.print(Text(note, style="yellow"), soft_wrap=True)
    hidden = len(summary.line_notes) - SHOWN_LINE_NOTES
    if hidden > 0:
        console.print(Text(f"... and {hidden:,} more skipped or repaired line(s)", style="yellow"))


def offline_workers(setting: int | Literal["auto"], ner: bool, export_bytes: int) -> int:
    """The personal-data worker processes for cleaning an export of ``export_bytes``: as the
    service starts them, but none for ``auto`` below ``AUTO_WORKERS_FROM_BYTES``."""
    if setting == "auto" and export_bytes < AUTO_WORKERS_FROM_BYTES:
        return 0
    return pii_workers(setting, ner)


def _summary_table(summary: Summary, cleaner: OfflineCleaner, accepted: Path, rejected: Path,
                   processes: int) -> Table:
    table = Table(title=f"cleaner {cleaner.version}, config {cleaner.config_hash}", show_header=False,
                  title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("count", justify="right")
    table.add_row("lines read", f"{summary.lines:,}")
    table.add_row("skipped lines", f"{summary.skipped_lines:,}")
    if summary.repaired_lines:
        table.add_row("repaired lines", f"{summary.repaired_lines:,}")
    table.add_row("other observation types", f"{summary.other_types:,}")
    table.add_row("generations in", f"{summary.generations:,}")
    table.add_row(f"accepted → {accepted}", f"{summary.accepted:,}")
    table.add_row(f"rejected → {rejected}", f"{sum(summary.rejected.values()):,}")
    for reason, n in sorted(summary.rejected.items(), key=lambda item: (-item[1], item[0])):
        table.add_row(f"  {reason}", f"{n:,}")
    for kind, n in sorted(summary.redactions.items()):
        table.add_row(f"redacted {kind}", f"{n:,}")
    table.add_row("personal-data worker processes", f"{processes:,}")
    return table

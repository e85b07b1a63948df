"""``distillery ingest``: re-read a time range, import a Langfuse export, see where capture stands."""

from __future__ import annotations

import getpass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.text import Text

from distillery_cli.common import console, die, friendly, print_table, run_async, send_command, settings
from distillery_contracts.commands import BackfillRange
from distillery_contracts.registry import TRACES_RAW
from distillery_runtime.entrypoint import load_settings

ingest_app = typer.Typer(help="Capture Langfuse generations: backfill, import an export, status.",
                         no_args_is_help=True)


def _moment(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        die(f"{option} {value!r} is not an ISO 8601 time, e.g. 2026-03-02T08:00:00Z")
    if moment.tzinfo is None:
        die(f"{option} {value!r} needs a time zone, e.g. 2026-03-02T08:00:00Z")
    return moment


def _configured_projects() -> list[str]:
    from distillery_trace_ingester.config import IngesterSettings

    return load_settings(IngesterSettings).project_ids()


@ingest_app.command("backfill")
@friendly
def backfill_cmd(
    from_: Annotated[str, typer.Option("--from", help="Start of the range (ISO 8601, inclusive).")],
    to: Annotated[str, typer.Option("--to", help="End of the range (ISO 8601, exclusive).")],
    project: Annotated[str | None, typer.Option("--project", help="Project to re-read; default all.")] = None,
    requested_by: Annotated[str | None, typer.Option("--as", help="Who asks (default: your user name).")] = None,
) -> None:
    """Ask the trace-ingester to re-read Langfuse generations that started in [FROM, TO).

    Generations already published are not published again; missing ones and late
    scores are. Follow the progress with 'distillery ingest status'.
    """
    known = _configured_projects()
    if project and known and project not in known:
        die(f"project {project!r} is not configured here; configured: {', '.join(known)}")
    try:
        command = BackfillRange(from_time=_moment(from_, "--from"), to_time=_moment(to, "--to"),
                                project_id=project, requested_by=requested_by or getpass.getuser())
    except ValidationError as exc:
        die(exc.errors()[0]["msg"].removeprefix("Value error, "))
    send_command(command)
    console.print(f"Asked the trace-ingester to re-read {project or 'every project'} from "
                  f"{command.from_time.isoformat()} to {command.to_time.isoformat()} "
                  f"(request {command.command_id}).")


@ingest_app.command("import")
@friendly
def import_cmd(
    file: Annotated[Path, typer.Argument(help="Observations export, one JSON object a line.",
                                         show_default=False)],
    scores: Annotated[Path | None, typer.Option("--scores", help="Scores export (JSONL).")] = None,
    project: Annotated[str | None, typer.Option("--project", help="Project the export belongs to.")] = None,
) -> None:
    """Publish the generations of a Langfuse export (JSONL) to the traces stream.

    Accepts the API's camelCase objects and the blob-storage export's snake_case
    columns. Generations already published (by an earlier import or live capture) are
    skipped. Exits 1 when some lines could not be read.
    """
    for path in (file, scores):
        if path is not None and not path.is_file():
            die(f"no such file: {path}")
    project = project or _only_project()
    from distillery_trace_ingester.services import run_import

    config = settings()
    report, waiting = run_async(run_import(config.require_database_url(), config.kafka_bootstrap,
                                           project, file, scores))
    run = report.run
    for error in report.errors:
        console.print(Text(error, style="yellow"), soft_wrap=True)
    for note in report.repaired:
        console.print(Text(f"repaired {note}", style="yellow"), soft_wrap=True)
    c = run.counts
    console.print(f"Imported {file.name} into project {project}: {c.published:,} published, "
                  f"{c.already_published:,} already captured before, {c.dead_lettered:,} dead-lettered "
                  f"(see {TRACES_RAW}.dlq), {c.skipped:,} other observations skipped, "
                  f"{c.late_scores:,} late scores, {run.bad_lines:,} bad lines.")
    if waiting:
        console.print(f"{waiting:,} events wait in the ingester's outbox; a running trace-ingester "
                      "publishes them.")
    if run.bad_lines:
        raise typer.Exit(1)


def _only_project() -> str:
    known = _configured_projects()
    if len(known) == 1:
        return known[0]
    if not known:
        die("say which project the export belongs to with --project NAME")
    die(f"several projects are configured ({', '.join(known)}); choose one with --project")
    raise AssertionError("unreachable")


@ingest_app.command("status")
@friendly
def status_cmd() -> None:
    """Where live capture stands per project, and the latest backfills and imports."""
    from distillery_trace_ingester.views import read_status

    status = run_async(read_status(settings().require_database_url()))
    if status.empty:
        console.print("The trace-ingester has not captured anything yet.")
        return
    print_table(("project", "watermark", "behind"),
                [(p.project_id, p.watermark.isoformat(), f"{p.behind_s:,.0f}s") for p in status.projects])
    if status.backfills:
        print_table(("backfill", "project", "range", "position", "published", "done"),
                    [(b.backfill_id, b.project_id, f"{b.from_time.isoformat()} → {b.to_time.isoformat()}",
                      b.position.isoformat(), f"{b.counts.published:,}", "yes" if b.done else "no")
                     for b in status.backfills])
    if status.imports:
        print_table(("import", "project", "file", "published", "already", "dead-lettered", "bad lines"),
                    [(r.run_id[:12], r.project_id, r.file, f"{r.counts.published:,}",
                      f"{r.counts.already_published:,}", f"{r.counts.dead_lettered:,}", f"{r.bad_lines:,}")
                     for r in status.imports])

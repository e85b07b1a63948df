"""``distillery finetune``: the fine-tuning jobs, their progress, and the model registry.

Reading commands go through the finetune-controller's views; ``cancel`` asks the
controller through its command topic, so the controller stays the only one that talks
to the provider.
"""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from distillery_cli.common import console, die, friendly, print_table, run_async, send_command, settings
from distillery_contracts.commands import CancelJob
from distillery_contracts.finetune import PublishedDates
from distillery_finetune_controller import views
from distillery_finetune_controller.views import JobView, ModelStatus

finetune_app = typer.Typer(help="Fine-tuning jobs and the model registry.", no_args_is_help=True)

STATUS_STYLE = {"succeeded": "green", "failed": "red", "refused": "red", "cancelled": "yellow"}


def _database_url() -> str:
    return settings().require_database_url()


@finetune_app.command("list")
@friendly
def list_cmd(limit: Annotated[int, typer.Option(min=1, help="How many jobs, newest first.")] = 20,
             as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False) -> None:
    """The newest fine-tuning jobs and where each stands."""
    jobs = run_async(views.list_jobs(_database_url(), limit))
    if as_json:
        for job in jobs:
            typer.echo(json.dumps(_summary(job)))
        return
    if not jobs:
        console.print("No fine-tuning jobs yet.")
        return
    print_table(("job", "status", "dataset", "base model", "provider job", "model / deployment", "updated"),
                [(job.job_id, _status(job), job.dataset_id, job.base_model, job.provider_job_id or "-",
                  job.deployment_name or job.fine_tuned_model or "-", _when(job.updated_at)) for job in jobs])


@finetune_app.command("show")
@friendly
def show_cmd(job_id: Annotated[str, typer.Argument(help="Our job id, e.g. job-ds-0007.", show_default=False)],
             events: Annotated[int, typer.Option(min=0, help="How many of the latest provider events.")] = 20) -> None:
    """One job: its state, history, metrics, checkpoints and latest provider events."""
    detail = run_async(views.show_job(_database_url(), job_id))
    if detail is None:
        die(f"no fine-tuning job {job_id!r}; 'distillery finetune list' shows them")
    assert detail is not None
    job, history, checkpoints, provider_events = detail.job, detail.history, detail.checkpoints, detail.events
    console.print(_details(job))
    if history:
        console.print("History: " + " → ".join(f"{step.status} ({_when(step.at)})" for step in history))
    if checkpoints:
        table = Table("step", "train loss", "valid loss", "train acc", "valid acc", "checkpoint", title="Checkpoints",
                      title_justify="left")
        for c in checkpoints:
            m = c.metrics
            table.add_row(str(c.step), _num(m.get("train_loss")), _num(m.get("full_valid_loss", m.get("valid_loss"))),
                          _num(m.get("train_mean_token_accuracy")),
                          _num(m.get("full_valid_mean_token_accuracy", m.get("valid_mean_token_accuracy"))),
                          c.model_checkpoint)
        console.print(table)
    for event in provider_events[-events:] if events else []:
        console.print(Text(f"{_when(event.created_at)}  {event.level:<7} {event.message}"), soft_wrap=True)


@finetune_app.command("cancel")
@friendly
def cancel_cmd(job_id: Annotated[str, typer.Argument(help="Our job id.", show_default=False)],
               reason: Annotated[str | None, typer.Option(help="Why, kept with the job.")] = None,
               by: Annotated[str, typer.Option(help="Who asks.")] = getpass.getuser()) -> None:
    """Ask the controller to cancel a job (at the provider too, if it has started there)."""
    job = run_async(views.get_job(_database_url(), job_id))
    if job is None:
        die(f"no fine-tuning job {job_id!r}; 'distillery finetune list' shows them")
    assert job is not None
    if job.finished:
        die(f"job {job_id} has already ended ({_status(job)}); nothing to cancel", code=1)
    command = CancelJob(job_id=job_id, reason=reason, requested_by=by)
    send_command(command)
    console.print(f"Cancel of {job_id} requested (command {command.command_id}); "
                  f"'distillery finetune show {job_id}' follows it.")


@finetune_app.command("models")
@friendly
def models_cmd(status: Annotated[ModelStatus | None, typer.Option(help="Only models with this status.")] = None,
               as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False) -> None:
    """The model registry: every fine-tuned model, its lineage, metrics and status."""
    models = run_async(views.list_models(_database_url(), status))
    if as_json:
        for m in models:
            typer.echo(json.dumps({
                "fine_tuned_model": m.fine_tuned_model, "status": m.status.value, "job_id": m.job_id,
                "dataset_id": m.dataset_id, "cycle_id": m.cycle_id, "base_model": m.base_model,
                "deployment_name": m.deployment_name, "metrics": m.metrics.model_dump(mode="json"),
                "registered_at": m.registered_at.isoformat()}))
        return
    if not models:
        console.print("No fine-tuned models registered yet.")
        return
    print_table(("model", "status", "dataset", "base model", "job", "deployment", "valid loss", "valid acc",
                 "registered"),
                [(m.fine_tuned_model, m.status.value, m.dataset_id, m.base_model, m.job_id, m.deployment_name or "-",
                  _num(m.metrics.valid_loss), _num(m.metrics.valid_token_accuracy), _when(m.registered_at))
                 for m in models])


def _details(job: JobView) -> Table:
    table = Table(show_header=False, title=f"Fine-tuning job {job.job_id}", title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    h = job.hyperparameters
    rows = [
        ("status", _status(job)), ("provider", job.provider), ("provider job", _provider_job(job)),
        ("dataset", f"{job.dataset_id} v{job.dataset_version}"),
        ("cycle", job.cycle_id or "-"), ("base model", job.base_model),
        ("hyperparameters", f"epochs {h.n_epochs}, batch {h.batch_size or 'auto'}, "
                            f"lr × {h.learning_rate_multiplier or 'auto'}, seed {job.seed or 'provider'}"),
        ("files", f"train {job.training_file_id or '-'}, validation {job.validation_file_id or '-'}"),
        ("fine-tuned model", job.fine_tuned_model or "-"), ("deployment", job.deployment_name or "-"),
        ("trained tokens", f"{job.trained_tokens:,}" if job.trained_tokens else "-"),
        ("metrics", _metrics(job)),
    ]
    if job.base_model_dates is not None:
        rows.append(("base model's dates", _dates(job.base_model_dates)))
    if job.error is not None:
        rows.append(("error", f"[{job.error.code or 'error'}] {job.error.message}"))
    if job.cancel_requested:
        rows.append(("cancel requested", job.cancel_reason or "yes"))
    for name, value in rows:
        table.add_row(name, Text(value) if name != "status" else Text.from_markup(value))
    return table


def _dates(dates: PublishedDates) -> str:
    """What the provider published of the base model's life, and where it said so."""
    said = [f"fine-tuning until {dates.fine_tune_until}" if dates.fine_tune_until else "",
            f"shuts down on {dates.shutdown}" if dates.shutdown else ""]
    return f"{', '.join(part for part in said if part)} ({dates.source})"


def _summary(job: JobView) -> dict[str, Any]:
    return {"job_id": job.job_id, "status": job.status, "phase": job.phase,
            "dataset_id": job.dataset_id, "base_model": job.base_model, "provider": job.provider,
            "provider_job_id": job.provider_job_id, "fine_tuned_model": job.fine_tuned_model,
            "deployment_name": job.deployment_name, "error": job.error.model_dump() if job.error else None}


def _provider_job(job: JobView) -> str:
    if job.provider_job_id is None:
        return "not submitted yet"
    return f"{job.provider_job_id} ({job.provider_status})" if job.provider_status else job.provider_job_id


def _status(job: JobView) -> str:
    if job.status is None:
        return f"{job.phase} (not submitted yet)"
    style = STATUS_STYLE.get(job.status)
    return f"[{style}]{job.status}[/]" if style else job.status


def _metrics(job: JobView) -> str:
    m = job.metrics
    if m.step is None and m.train_loss is None:
        return "-"
    return (f"step {m.step or '-'}: train loss {_num(m.train_loss)}, valid loss {_num(m.valid_loss)}, "
            f"valid token accuracy {_num(m.valid_token_accuracy)}")


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "-"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"

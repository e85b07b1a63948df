"""``distillery status``: services' health, consumer lag, and where the current cycle is."""

from __future__ import annotations

import asyncio

import httpx
from rich.table import Column, Table
from rich.text import Text

from distillery_cli.common import console, friendly, run_async, settings
from distillery_cli.demo.monitor import PipelineView, snapshot
from distillery_cli.topics import group_lag, list_groups, partitions
from distillery_contracts.registry import all_topic_specs
from distillery_runtime.entrypoint import load_settings
from distillery_runtime.kafka import check_broker
from distillery_runtime.model_calendar import (
    ServingNotice,
    ShutdownNoticeSettings,
    ShutdownWatch,
    TrainingNotice,
    advice_lines,
)
from distillery_runtime.registration import Registration, registrations


async def readiness(reg: Registration) -> str:
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            answer = await client.get(f"{reg.http}/readyz")
        return "[green]ready[/]" if answer.status_code == 200 else "[yellow]not ready[/]"
    except httpx.HTTPError:
        return "[red]unreachable[/]"


async def lags(bootstrap: str) -> list[tuple[str, str, int]]:
    groups = [g for g in await list_groups(bootstrap) if g.startswith("distillery.")]
    rows = []
    for spec in all_topic_specs():
        parts = await partitions(bootstrap, spec.name)
        if not parts:
            continue
        for group in groups:
            lag = await group_lag(bootstrap, group, spec.name, parts)
            if any(v is not None for v in lag.committed.values()):
                rows.append((group, spec.name, lag.lag))
    return rows


def render_cycles(view: PipelineView) -> Table:
    table = Table("cycle", "dataset", "fine-tune", "evaluation", "rollout")
    for cycle in view.cycles.values():
        dataset = f"{cycle.dataset.counts.train_examples} train / {cycle.dataset.counts.validation_examples} val" if cycle.dataset else "-"
        job = cycle.job
        last = cycle.decisions[-1] if cycle.decisions else None
        table.add_row(cycle.cycle_id, dataset,
                      f"{job.status.value} {(job.fine_tuned_model or '').rsplit(':', 1)[-1]}".strip() if job else "-",
                      cycle.evaluation.outcome.value if cycle.evaluation else "-",
                      f"{last.decision.value} at {last.stage_percent:g}%" if last else "-")
    return table


def render_routes(view: PipelineView) -> Table:
    table = Table("route", "version", "weights")
    for route in view.routes.values():
        weights = ", ".join(f"{a.name} {a.weight:g}% ({a.model})" for a in route.arms)
        table.add_row(route.route, str(route.version), weights)
    return table


def going_away(view: PipelineView, watch: ShutdownWatch) -> tuple[list[ServingNotice], TrainingNotice | None]:
    """The routed models going away, and the last training day of the base model the latest job
    trained, when either is within the notice period: by the calendar and by what the providers
    publish for the base models jobs trained (Azure's deprecation dates), as the console says."""
    jobs = sorted((job for cycle in view.cycles.values() for job in cycle.jobs), key=lambda job: job.occurred_at)
    watch = watch.with_published((job.provider, job.base_model, job.base_model_dates) for job in jobs
                                 if job.base_model_dates is not None)
    latest = jobs[-1] if jobs else None
    training = watch.training(latest.base_model, latest.provider) if latest else None
    return watch.notices(view.routes.values()), training


def render_notices(notices: list[ServingNotice], training: TrainingNotice | None = None) -> Table:
    """The trained base model's last day and the routed models going away, soonest first, red once
    past; under them, what to do, once per kind."""
    table = Table("what", Column("model", overflow="fold"), "calls", "day", "days left",
                  title="Going away", title_justify="left",
                  caption=Text("\n".join(f"{who}: {what}." for who, what in advice_lines(notices, training))),
                  caption_justify="left")
    if training is not None:
        cells = ("training (last day)", f"{training.base_model} ({training.provider})", "-",
                 str(training.last_day), str(training.days_left))
        table.add_row(*(Text(cell) for cell in cells), style="red" if training.closed else "yellow")
    for n in notices:
        cells = (f"{n.arm} of {n.route} (shutdown)", f"{n.model} ({n.provider})", f"{n.weight:g}%",
                 str(n.shutdown), str(n.days_left))
        table.add_row(*(Text(cell) for cell in cells), style="red" if n.stopped else "yellow")
    return table


async def _all_readiness(regs: list[Registration]) -> list[str]:
    return list(await asyncio.gather(*(readiness(r) for r in regs)))


@friendly
def status_cmd() -> None:
    """Every local service's readiness, consumer lag per group, and the cycles so far."""
    cfg = settings()
    run_async(check_broker(cfg.kafka_bootstrap))
    regs = registrations(cfg.home)
    services = Table("service", "pid", "http", "state")
    states = run_async(_all_readiness(regs)) if regs else []
    for reg, state in zip(regs, states, strict=True):
        services.add_row(reg.service, str(reg.pid), reg.http, state)
    console.print(services if regs else f"No local services registered under {cfg.home}.")
    lag_table = Table("consumer group", "topic", "lag")
    for group, topic, lag in run_async(lags(cfg.kafka_bootstrap)):
        lag_table.add_row(group, topic, str(lag))
    console.print(lag_table)
    view = run_async(snapshot(cfg.kafka_bootstrap))
    console.print(render_cycles(view) if view.cycles else "No distillation cycle has started yet.")
    if view.routes:
        console.print(render_routes(view))
    notices, training = going_away(view, load_settings(ShutdownNoticeSettings).watch())
    if notices or training:
        console.print(render_notices(notices, training))

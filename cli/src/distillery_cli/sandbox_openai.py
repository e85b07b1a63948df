"""`distillery sandbox openai`: serve the simulated OpenAI / Azure OpenAI APIs.

The lead attaches `openai` to the `sandbox` sub-app (`sandbox_app.command("openai")(openai)`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import typer

from distillery_cli.common import die


def _dates(pairs: list[str], option: str) -> dict[str, date | None]:
    """MODEL=YYYY-MM-DD (or MODEL=none) pairs."""
    parsed: dict[str, date | None] = {}
    for pair in pairs:
        model, _, day = pair.partition("=")
        if not model or not day:
            die(f"{option} expects MODEL=YYYY-MM-DD (or MODEL=none), got {pair!r}")
        try:
            parsed[model] = None if day.lower() == "none" else date.fromisoformat(day)
        except ValueError:
            die(f"{option} {pair!r}: {day!r} is not a date like 2027-01-14")
    return parsed


def openai(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8100, help="Port to listen on."),
    latency_scale: float = typer.Option(
        1.0, help="Multiply model latencies (teacher ~900 ms, student ~350 ms); 0 = instant."),
    teacher_latency_ms: float = typer.Option(900.0, help="Median teacher (GPT-4.1) latency."),
    student_latency_ms: float = typer.Option(350.0, help="Median fine-tuned student latency."),
    time_scale: float = typer.Option(
        1.0, help="Multiply fine-tuning job and deployment timings (a job takes ~4 s at 1)."),
    openai_key: str = typer.Option("sk-sandbox", help="Bearer key the OpenAI flavour accepts."),
    azure_key: str = typer.Option("azure-sandbox-key", help="api-key the Azure flavour accepts."),
    management_token: str = typer.Option(
        "sandbox-arm-token", help="Bearer token the Azure management plane accepts."),
    azure_account: str = typer.Option("distillery-aoai", help="Azure OpenAI account name."),
    max_running_openai: int = typer.Option(3, help="Jobs training at once on OpenAI."),
    max_running_azure: int = typer.Option(1, help="Jobs training at once on Azure."),
    shutdown: list[str] = typer.Option(
        [], help="Move a model's shutdown date: MODEL=YYYY-MM-DD or MODEL=none (repeatable)."),
    fine_tune_until: list[str] = typer.Option(
        [], help="Move the last day a model can be fine-tuned: MODEL=YYYY-MM-DD (repeatable)."),
    today: str | None = typer.Option(
        None, help="Pretend today is this date (YYYY-MM-DD) for lifecycle checks."),
    real_dates: bool = typer.Option(
        False, "--real-dates", help="OpenAI's real deadlines (fine-tuning until 2027-01-06, gpt-4.1 and "
        "gpt-4o-mini until 2027-01-14) instead of rehearsing them 30 and 38 days ahead of today."),
    min_examples_per_intent: int = typer.Option(
        20, help="Training answers of an intent a student needs to answer it like the teacher."),
    state: Path | None = typer.Option(
        None, help="Keep the sandbox's state in this JSON file across restarts."),
    rate_limit_every: int = typer.Option(0, help="Answer every Nth API request with 429."),
    server_error_every: int = typer.Option(0, help="Answer every Nth API request with 500."),
    fault_path: str = typer.Option("", help="Only inject faults under this path prefix."),
    teacher_wrong_fact_rate: float = typer.Option(
        0.0, help="Rehearse a teacher regression: share of fact-bearing teacher answers that "
        "state a wrong fact (also settable at run time: POST /sandbox/v1/teacher)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve the OpenAI and Azure OpenAI sandbox (a simulation, for tests and the demo)."""
    from distillery_sandbox.openai import (
        AzureResource,
        FaultRule,
        Faults,
        JobTimings,
        LatencyProfile,
        SandboxConfig,
        TeacherDrift,
        default_catalogue,
        rehearsal_catalogue,
        serve,
        with_dates,
    )

    try:
        pinned = date.fromisoformat(today) if today else None
    except ValueError:
        die(f"--today {today!r} is not a date like 2027-01-07")
    try:
        rules = [FaultRule(status, every, fault_path, 1.0)
                 for status, every in ((429, rate_limit_every), (500, server_error_every)) if every]
        config = SandboxConfig(
            openai_keys=(openai_key,), azure_keys=(azure_key,),
            management_tokens=(management_token,),
            models=with_dates(default_catalogue() if real_dates else rehearsal_catalogue(pinned or datetime.now(UTC).date()),
                              _dates(shutdown, "--shutdown"), _dates(fine_tune_until, "--fine-tune-until")),
            timings=JobTimings(scale=time_scale), latency=LatencyProfile(teacher_ms=teacher_latency_ms, student_ms=student_latency_ms,
                                   scale=latency_scale),
            max_running_jobs={"openai": max_running_openai, "azure": max_running_azure},
            azure=AzureResource(account=azure_account),
            today=pinned,
            min_examples_per_intent=min_examples_per_intent,
            faults=Faults(rules), snapshot_path=state,
            teacher_drift=TeacherDrift(teacher_wrong_fact_rate),
        )
        serve(host, port, config, log_level=log_level)
    except ValueError as exc:
        die(str(exc))

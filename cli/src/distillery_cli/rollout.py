"""``distillery rollout ...`` and ``distillery report``: watch and steer progressive rollouts.

Status is read from the rollout-controller's ``GET /v1/rollouts`` when ``--url`` (or
``DISTILLERY_ROLLOUT_URL``) is given (with the bearer token of DISTILLERY_API_TOKENS, or the
local stack's), else from the controller's tables through its views
(the same read models either way). Actions are commands on
``distillery.commands.rollout.v1``, signed with the operator's key (``--key`` or
``DISTILLERY_OPERATOR_KEY``; default the local stack's) and recorded with its identity: the
controller obeys no other.
"""

from __future__ import annotations

import time
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import typer
from pydantic import BaseModel, ValidationError
from rich.table import Table
from rich.text import Text

from distillery_cli.common import console, die, friendly, run_async, send_command, settings
from distillery_contracts.commands import AbortRollout, AdvanceRollout, PauseRollout, ResumeRollout, RolloutCommand
from distillery_contracts.common import GateResult
from distillery_rollout_controller.config import RolloutSettings
from distillery_rollout_controller.views import CostReport, RolloutView, RolloutViews, StatusDocument, open_views
from distillery_runtime.auth import bearer_headers
from distillery_runtime.entrypoint import load_settings
from distillery_runtime.signing import KeyFileError, SigningKey, local_keys

rollout_app = typer.Typer(help="Watch and steer progressive rollouts of students.", no_args_is_help=True)

UrlOption = Annotated[str | None, typer.Option(
    "--url", envvar="DISTILLERY_ROLLOUT_URL", show_default=False,
    help="rollout-controller base URL, e.g. http://localhost:8080 (default: read its tables).")]
RolloutArg = Annotated[str | None, typer.Argument(help="Rollout id; default: the live rollout.",
                                                  show_default=False)]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why; recorded with the decision.")]
WaitOption = Annotated[float, typer.Option("--wait", min=0, help="Seconds to wait for the controller's decision.")]
KeyOption = Annotated[Path | None, typer.Option(
    "--key", envvar="DISTILLERY_OPERATOR_KEY", show_default=False,
    help="Operator key file to sign with (distillery keys generate); default: the local stack's "
    "<DISTILLERY_HOME>/keys/operator.key.")]
M = TypeVar("M", bound=BaseModel)


@rollout_app.command("status")
@friendly
def status_cmd(url: UrlOption = None, as_json: Annotated[bool, typer.Option("--json")] = False,
               limit: Annotated[int, typer.Option(min=1, help="Rollouts to list.")] = 5) -> None:
    """Stage, weights, gate values against thresholds and time in stage."""
    doc = run_async(read_status(url, limit))
    if as_json:
        console.print_json(doc.model_dump_json())
        return
    print_status(doc)


@rollout_app.command("pause")
@friendly
def pause_cmd(rollout_id: RolloutArg = None, reason: ReasonOption = None, url: UrlOption = None,
              wait: WaitOption = 15.0, key: KeyOption = None) -> None:
    """Hold the rollout's weights until resumed."""
    _act("pause", PauseRollout, rollout_id, url, wait, key, reason=reason)


@rollout_app.command("resume")
@friendly
def resume_cmd(rollout_id: RolloutArg = None, reason: ReasonOption = None, url: UrlOption = None,
               wait: WaitOption = 15.0, key: KeyOption = None) -> None:
    """Let a paused rollout evaluate its gates again."""
    _act("resume", ResumeRollout, rollout_id, url, wait, key, reason=reason)


@rollout_app.command("abort")
@friendly
def abort_cmd(rollout_id: RolloutArg = None,
              reason: Annotated[str, typer.Option("--reason", help="Why (required).")] = ...,  # type: ignore[assignment]
              url: UrlOption = None, wait: WaitOption = 15.0, key: KeyOption = None) -> None:
    """Stop the rollout: all student traffic goes back to the previous model at once."""
    _act("abort", AbortRollout, rollout_id, url, wait, key, reason=reason)


@rollout_app.command("advance")
@friendly
def advance_cmd(rollout_id: RolloutArg = None,
                force: Annotated[bool, typer.Option("--force", help="Advance even if gates disagree.")] = False,
                reason: ReasonOption = None, url: UrlOption = None, wait: WaitOption = 15.0,
                key: KeyOption = None) -> None:
    """Move to the next stage when the gates allow it now, or with --force (needs --reason; operators only)."""
    if force and not reason:
        die("--force needs --reason: a forced advance is recorded with who asked and why")
    _act("advance", AdvanceRollout, rollout_id, url, wait, key, force=force, reason=reason)


@friendly
def report_cmd(url: UrlOption = None,
               calls_per_day: Annotated[float | None, typer.Option(
                   min=1, help="Project this volume instead of the observed one.")] = None,
               as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Cost per call per arm, blended at current weights, and the monthly saving vs all-teacher."""
    report = run_async(read_costs(url, calls_per_day))
    if as_json:
        console.print_json(report.model_dump_json())
        return
    print_report(report)


# --- reading --------------------------------------------------------------------------------

async def read_status(url: str | None, limit: int = 10) -> StatusDocument:
    if url:
        return await _get(url, "/v1/rollouts", {"limit": limit}, StatusDocument)
    async with _views() as views:
        return await views.status(limit)


async def read_costs(url: str | None, calls_per_day: float | None) -> CostReport:
    if url:
        params = {"calls_per_day": calls_per_day} if calls_per_day else {}
        return await _get(url, "/v1/report", params, CostReport)
    async with _views() as views:
        report = await views.costs(calls_per_day)
    if report is None:
        die("the rollout-controller has not published a routing table yet (is it running?)")
    return report


def _views() -> AbstractAsyncContextManager[RolloutViews]:
    config = load_settings(RolloutSettings).controller_config()
    return open_views(settings().require_database_url(), config)


async def _get(url: str, path: str, params: dict, model: type[M]) -> M:
    endpoint = url.rstrip("/") + path
    try:
        async with httpx.AsyncClient(timeout=10.0, headers=bearer_headers(settings().client_token())) as client:
            response = await client.get(endpoint, params=params)
    except httpx.HTTPError as exc:
        die(f"cannot reach the rollout-controller at {endpoint}: {exc!r}")
    if response.status_code != 200:
        die(f"GET {endpoint} answered {response.status_code}: {response.text[:300]}")
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        die(f"GET {endpoint} sent something that is not a rollout-controller answer: {exc}")
    raise AssertionError("unreachable")


# --- acting ---------------------------------------------------------------------------------

def _act(action: str, command: type[RolloutCommand], rollout_id: str | None, url: str | None,
         wait_s: float, key_file: Path | None, **fields: Any) -> None:
    """Send ``command`` for the rollout (default: the live one) signed by the operator's key, as
    the key's identity, then await the decision."""
    target = _target(url, rollout_id, action)
    key = operator_key(key_file)
    _send(key.sign(command(rollout_id=target, requested_by=key.identity, **fields)), url, wait_s)


def operator_key(path: Path | None) -> SigningKey:
    """The key commands are signed with; one line saying how to get one when there is none."""
    try:
        return SigningKey.load(path or local_keys(settings().home).operator_key)
    except KeyFileError as exc:
        die(f"{exc}; the rollout-controller must also trust it (DISTILLERY_ROLLOUT_OPERATOR_KEYS)")


def _target(url: str | None, rollout_id: str | None, action: str) -> str:
    doc = run_async(read_status(url, limit=50))
    views = {r.rollout_id: r for r in doc.rollouts}
    if rollout_id is None:
        if doc.live is None:
            die(f"no rollout is live on route {doc.route!r}; give the rollout id to {action}")
        return doc.live.rollout_id  # type: ignore[union-attr]
    view = views.get(rollout_id)
    if view is None:
        die(f"no rollout {rollout_id!r} among the latest 50 on route {doc.route!r}")
    elif view.status not in ("active", "paused") and not (action == "abort" and view.status == "queued"):
        die(f"rollout {rollout_id} is {view.status}; there is nothing to {action}")
    return rollout_id


def _send(command: RolloutCommand, url: str | None, wait_s: float) -> None:
    before = _last_decision_id(url, command.rollout_id)
    send_command(command)
    console.print(f"Sent {command.event_type} for {command.rollout_id} as {command.requested_by}.")
    if wait_s <= 0:
        return
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        time.sleep(0.5)
        view = _view(url, command.rollout_id)
        if view and view.last_decision and view.last_decision.decision_id != before:
            d = view.last_decision
            console.print(Text(f"→ {d.decision.value}: {d.reason}  weights {_weights(d.weights)}"))
            return
    console.print("The controller has not recorded a decision yet; check 'distillery rollout status'.")


def _view(url: str | None, rollout_id: str) -> RolloutView | None:
    doc = run_async(read_status(url, limit=50))
    return next((r for r in doc.rollouts if r.rollout_id == rollout_id), None)


def _last_decision_id(url: str | None, rollout_id: str) -> str | None:
    view = _view(url, rollout_id)
    return view.last_decision.decision_id if view and view.last_decision else None


# --- printing -------------------------------------------------------------------------------

def print_status(doc: StatusDocument) -> None:
    table = doc.table
    header = f"Route {doc.route}"
    if table is not None:
        arms = "  ".join(f"{a.name} {a.weight:g}% ({a.model})" for a in table.arms)
        header += f" · table v{table.version} · {arms}"
    console.print(Text(header, style="bold"))
    if not doc.rollouts:
        console.print("No rollout yet: the route serves its table above.")
    for view in doc.rollouts:
        _print_rollout(view, detailed=view.status in ("active", "paused"))
    if doc.costs is not None:
        c = doc.costs
        console.print(f"Cost per call: blended {_usd(c.blended_per_call_usd)} vs all-teacher "
                      f"{_usd(c.teacher_per_call_usd)} · 'distillery report' for the projection")


def _print_rollout(view: RolloutView, *, detailed: bool) -> None:
    stage = f"stage {view.stage_index + 1}/{len(view.stages)} ({view.stage_percent:g}%)"
    line = f"\n{view.rollout_id}  {view.status}  {stage}  {view.candidate_model}"
    line += f" replacing {view.previous_model or 'teacher only'}"
    console.print(Text(line, style="bold" if detailed else ""))
    if view.last_decision is not None:
        d = view.last_decision
        console.print(Text(f"  last decision: {d.decision.value} by {d.actor} at "
                           f"{d.decided_at:%Y-%m-%d %H:%M:%S} — {d.reason}"))
    if not detailed:
        return
    if view.seconds_in_stage is not None:
        console.print(f"  weights {_weights(view.weights)} · in stage {_duration(view.seconds_in_stage)} "
                      f"(minimum {_duration(view.min_stage_seconds)}) · "
                      f"{view.min_scored_calls} scored calls per arm needed")
    if view.gates:
        gates = Table("gate", "value", "CI", "bound", "n", "holds", title="  gates", title_justify="left")
        for g in view.gates:
            gates.add_row(g.name, _fmt(g, g.value), f"[{_fmt(g, g.ci_low)}, {_fmt(g, g.ci_high)}]",
                          f"{g.comparator.value} {_fmt(g, g.threshold)}", str(g.n),
                          "[green]yes[/]" if g.passed else "[yellow]not yet[/]")
        console.print(gates)
    if view.arm_metrics:
        arms = Table("arm", "calls", "halluc.", "judge loss", "p50 ms", "p95 ms", "errors", "$/call",
                     title="  arms this stage", title_justify="left")
        for arm, m in view.arm_metrics.items():
            arms.add_row(arm, str(m.n), _pct(m.hallucination_rate), _pct(m.loss_rate),
                         _num(m.latency_p50_ms), _num(m.latency_p95_ms), _pct(m.error_rate),
                         _usd(m.cost_per_call_usd))
        console.print(arms)


def print_report(report: CostReport) -> None:
    arms = Table("arm", "model", "weight", "$/call", "basis", "calls seen", title="Cost per call per arm",
                 title_justify="left")
    for a in report.arms:
        arms.add_row(a.arm, a.model, f"{a.weight:g}%", _usd(a.cost_per_call_usd), a.basis, f"{a.calls:,}")
    console.print(arms)
    summary = Table("", "this route", "seed reference", title="Blended", title_justify="left")
    summary.add_row("all teacher, per call", _usd(report.teacher_per_call_usd),
                    f"~{_usd(report.reference_teacher_per_call_usd)} (GPT-4.1)")
    summary.add_row("current weights, per call", _usd(report.blended_per_call_usd),
                    f"~{_usd(report.reference_hybrid_per_call_usd)} (90/10 hybrid)")
    summary.add_row("calls per day", f"{report.calls_per_day:,.0f} ({report.volume_basis})", "10,000")
    summary.add_row("per month at current weights", _usd(report.monthly_cost_usd, 2), "")
    summary.add_row("per month all teacher", _usd(report.monthly_all_teacher_usd, 2), "")
    saving = _usd(report.monthly_saving_usd, 2)
    if report.saving_percent is not None:
        saving += f" ({report.saving_percent:.0f}%)"
    summary.add_row("saving per month", saving, "about 70% at 90/10")
    console.print(summary)


def _fmt(gate: GateResult, value: float | None) -> str:
    if value is None:
        return "?"
    if gate.metric.endswith("_ms"):
        return f"{value:,.0f} ms"
    if gate.metric.endswith("_difference"):
        return f"{value * 100:+.1f} pts"
    return f"{value:.1%}"


def _weights(weights: dict[str, float]) -> str:
    return " / ".join(f"{arm} {weight:g}%" for arm, weight in weights.items())


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _usd(value: float | None, digits: int = 5) -> str:
    return "unknown" if value is None else f"${value:,.{digits}f}"

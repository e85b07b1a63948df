"""The demo's live terminal view and its closing report (Rich)."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table

from distillery_cli.demo.monitor import PipelineView
from distillery_cli.demo.outcome import CostFigures, cycle_outcomes
from distillery_cli.demo.voice import VoiceStats
from distillery_cli.status import render_cycles, render_routes
from distillery_contracts.registry import EXAMPLES_ACCEPTED, EXAMPLES_REJECTED, TRACES_RAW

STAGES = (10.0, 25.0, 50.0, 75.0, 90.0)


def _bar(done: float, total: float) -> ProgressBar:
    return ProgressBar(total=max(total, 1), completed=min(done, total), width=30)


def live_view(view: PipelineView, stats: VoiceStats, threshold: int, elapsed_s: float, note: str) -> Panel:
    counts = Table.grid(padding=(0, 2))
    counts.add_row("calls placed", str(stats.calls_finished), "model turns", str(stats.turns),
                   "by arm", ", ".join(f"{k} {v}" for k, v in sorted(stats.by_arm.items())) or "-")
    counts.add_row("traces captured", str(view.counts.get(TRACES_RAW, 0)),
                   "examples accepted", str(view.counts.get(EXAMPLES_ACCEPTED, 0)),
                   "rejected", str(view.counts.get(EXAMPLES_REJECTED, 0)))
    progress = Table.grid(padding=(0, 2))
    built = sum(c.dataset.counts.candidate_examples for c in view.cycles.values() if c.dataset) if view.cycles else 0
    accepted = view.counts.get(EXAMPLES_ACCEPTED, 0)
    progress.add_row("next dataset", _bar(max(0, accepted - built), threshold), f"{max(0, accepted - built)}/{threshold} new examples")
    for cycle in view.cycles.values():
        share = cycle.decisions[-1].stage_percent if cycle.decisions else 0.0
        progress.add_row(f"{cycle.cycle_id} rollout", _bar(share, STAGES[-1]), f"{share:g}% student · {cycle.stage}")
    parts = [counts, progress]
    if view.cycles:
        parts.append(render_cycles(view))
    if view.routes:
        parts.append(render_routes(view))
    return Panel(Group(*parts), title=f"Distillery demo · {elapsed_s:5.0f}s · {note}", border_style="cyan")


def final_report(view: PipelineView, costs: CostFigures | None, reason: str) -> Panel:
    table = Table("cycle", "dataset (train+val)", "student", "evaluation", "rollout")
    for c in cycle_outcomes(view):
        model = (c.fine_tuned_model or "").rsplit(":", 1)[-1] or "-"
        failed = [g["name"] for g in c.gates if not g["passed"]]
        verdict = f"{c.evaluation or '-'}" + (f": {', '.join(failed)}" if failed else
                                                f" ({len(c.gates)} gates)" if c.gates else "")
        table.add_row(c.cycle_id, f"{c.train_examples or 0}+{c.validation_examples or 0}",
                      f"{model} ({c.job_status or '-'})", verdict, rollout_path(c.decisions))
    parts: list = [table]
    if costs:
        money = Table("", "per model call", "per month at 10,000 calls/day")
        money.add_row("all teacher (before)", f"${costs.teacher_cost_per_call:.5f}", f"${costs.monthly_teacher:,.0f}")
        money.add_row("hybrid now (after)", f"${costs.blended_cost_per_call:.5f}", f"${costs.monthly_blended:,.0f}")
        money.add_row("saving", f"{costs.saving_share:.0%}", f"${costs.monthly_saving:,.0f}")
        parts.append(money)
        parts.append("Seed platform reference: ~$0.006 per call on GPT-4.1, ~$0.0018 for the 90/10 hybrid (≈70% lower).")
    return Panel(Group(*parts), title=f"Distillery demo: {reason}", border_style="green")


def rollout_path(decisions: list[str]) -> str:
    """``started@10% → held@10% → advanced@25% … completed@90%`` as ``10→25→…→90 completed``."""
    if not decisions:
        return "-"
    stages = [d.split("@")[1].rstrip("%") for d in decisions if d.startswith(("started", "advanced"))]
    last = decisions[-1].split("@")[0]
    return f"{'→'.join(stages)}% {last}" if stages else last

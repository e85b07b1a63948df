"""What the demo reports at the end: per cycle, and the cost before and after."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from distillery_cli.demo.monitor import PipelineView
from distillery_cli.demo.voice import VoiceStats
from distillery_runtime.pricing import PriceTable, UnknownPriceError

CALLS_PER_DAY = 10_000
TURNS_PER_CALL = 1  # the seed's reference figures are per model call (~1,000 in / 500 out)


@dataclass
class CostFigures:
    teacher_cost_per_call: float
    blended_cost_per_call: float
    saving_share: float
    monthly_teacher: float
    monthly_blended: float
    monthly_saving: float
    weights: dict[str, float]


def cost_figures(view: PipelineView, usage: dict[str, tuple[int, int, int]], teacher: str,
                 route: str = "voice-agent", prices: PriceTable | None = None) -> CostFigures | None:
    """Cost per model call from observed token usage; blended at the final weights."""
    prices = prices or PriceTable()
    table = view.routes.get(route)
    if table is None or not usage:
        return None
    calls = sum(n for n, _, _ in usage.values())
    tokens_in = sum(i for _, i, _ in usage.values()) / max(calls, 1)
    tokens_out = sum(o for _, _, o in usage.values()) / max(calls, 1)
    try:
        teacher_cost = prices.cost_of_call(teacher, int(tokens_in), int(tokens_out))
        blended = sum(a.weight / 100 * prices.cost_of_call(a.model, int(tokens_in), int(tokens_out))
                      for a in table.arms)
    except UnknownPriceError:
        return None
    monthly = 30 * CALLS_PER_DAY * TURNS_PER_CALL
    return CostFigures(teacher_cost, blended, 1 - blended / teacher_cost if teacher_cost else 0.0,
                       teacher_cost * monthly, blended * monthly, (teacher_cost - blended) * monthly,
                       {a.name: a.weight for a in table.arms})


@dataclass
class CycleOutcome:
    cycle_id: str
    dataset_id: str | None
    train_examples: int | None
    validation_examples: int | None
    job_status: str | None
    fine_tuned_model: str | None
    evaluation: str | None
    gates: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)


def cycle_outcomes(view: PipelineView) -> list[CycleOutcome]:
    out = []
    for cycle in view.cycles.values():
        ds, job, ev = cycle.dataset, cycle.job, cycle.evaluation
        out.append(CycleOutcome(
            cycle.cycle_id,
            ds.dataset_id if ds else None,
            ds.counts.train_examples if ds else None,
            ds.counts.validation_examples if ds else None,
            job.status.value if job else None,
            job.fine_tuned_model if job else None,
            ev.outcome.value if ev else None,
            [{"name": g.name, "model": g.model, "value": g.value, "threshold": g.threshold,
              "passed": g.passed} for g in (ev.gates if ev else [])],
            [f"{d.decision.value}@{d.stage_percent:g}%" for d in cycle.decisions],
        ))
    return out


def summary(view: PipelineView, stats: VoiceStats, costs: CostFigures | None, elapsed_s: float,
            finished: bool, reason: str) -> dict[str, Any]:
    return {
        "finished": finished,
        "reason": reason,
        "elapsed_s": round(elapsed_s, 1),
        "cycles": [asdict(c) for c in cycle_outcomes(view)],
        "final_weights": {r: {a.name: {"model": a.model, "weight": a.weight} for a in t.arms}
                          for r, t in view.routes.items()},
        "traffic": {"calls": stats.calls_finished, "turns": stats.turns, "by_arm": dict(stats.by_arm),
                    "fallbacks": stats.fallbacks, "by_model": dict(stats.by_model)},
        "topics": dict(view.counts),
        "costs": asdict(costs) if costs else None,
    }

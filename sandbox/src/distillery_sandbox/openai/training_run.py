"""A simulated training run: resolved hyperparameters, a loss curve, step events and
epoch checkpoints, all fixed by the job's seed and what its file taught.

Dirtier data trains worse: the loss floors rise with the share of training answers that
disagree with the teacher, so a bad dataset already shows in the job's metrics.
"""

from __future__ import annotations

import math
import random
from typing import Any

from distillery_sandbox.openai.files import new_id
from distillery_sandbox.openai.job_records import Checkpoint, Hyperparameters, JobEvent, PlannedItem

MAX_METRIC_EVENTS = 24
KEPT_CHECKPOINTS = 3


def resolve_hyperparameters(given: dict[str, Any], examples: int) -> Hyperparameters:
    """What OpenAI's "auto" becomes for a file of `examples` lines."""
    def pick(name: str, auto: float) -> Any:
        value = given.get(name, "auto")
        return auto if value in ("auto", None) else value

    epochs = 3 if examples >= 100 else min(10, max(3, math.ceil(300 / max(1, examples))))
    batch = max(1, min(256, round(examples * 0.002)))
    return Hyperparameters(
        n_epochs=int(pick("n_epochs", epochs)),
        batch_size=int(pick("batch_size", batch)),
        learning_rate_multiplier=float(pick("learning_rate_multiplier", 1.8)),
    )


def plan_run(job_id: str, seed: int, hyper: Hyperparameters, examples: int,
             defect_share: float, hex_ids: bool) -> list[PlannedItem]:
    """Metric events spread over the run and a checkpoint at each of the last epochs."""
    rng = random.Random(f"{job_id}:{seed}")
    per_epoch = max(1, math.ceil(examples / hyper.batch_size))
    total = per_epoch * hyper.n_epochs
    every = max(1, math.ceil(total / MAX_METRIC_EVENTS))
    steps = sorted(set(range(every, total + 1, every)) | {total})
    first_kept = max(1, hyper.n_epochs - KEPT_CHECKPOINTS + 1)
    saves = [epoch * per_epoch for epoch in range(first_kept, hyper.n_epochs + 1)]
    curve = _Curve(defect_share, rng)
    metrics = {step: curve.at(step / total) for step in sorted(set(steps) | set(saves))}
    items = [
        PlannedItem(fraction=step / total,
                    event=_metrics_event(step, total, metrics[step], hex_ids))
        for step in steps
    ]
    for step in saves:
        checkpoint = Checkpoint(
            id=new_id("ftckpt_", hex_ids), created_at=0.0, step_number=step,
            metrics={"step": float(step), **metrics[step],
                     "full_valid_loss": metrics[step]["valid_loss"],
                     "full_valid_mean_token_accuracy": metrics[step]["valid_mean_token_accuracy"]},
        )
        note = JobEvent(id=new_id("ftevent-", hex_ids), created_at=0.0,
                        message=f"Checkpoint created at step {step}")
        items.append(PlannedItem(fraction=step / total, checkpoint=checkpoint))
        items.append(PlannedItem(fraction=step / total, event=note))
    items.sort(key=lambda item: item.fraction)
    return items


def trained_tokens(tokens: int, hyper: Hyperparameters) -> int:
    return tokens * hyper.n_epochs


class _Curve:
    """Losses falling from ~2.3 towards a floor set by how dirty the data was."""

    def __init__(self, defect_share: float, rng: random.Random):
        self.train_floor = 0.12 + 1.1 * defect_share
        self.valid_gap = 0.04 + 0.7 * defect_share
        self.rng = rng

    def at(self, progress: float) -> dict[str, float]:
        decay = math.exp(-4.0 * progress)
        noise = self.rng.uniform(-0.03, 0.03)
        train = self.train_floor + (2.3 - self.train_floor) * decay + noise
        valid = train + self.valid_gap + self.rng.uniform(0.0, 0.04)
        return {
            "train_loss": round(max(0.01, train), 4),
            "valid_loss": round(max(0.01, valid), 4),
            "train_mean_token_accuracy": round(_accuracy(train), 4),
            "valid_mean_token_accuracy": round(_accuracy(valid), 4),
        }


def _accuracy(loss: float) -> float:
    return min(0.999, max(0.0, math.exp(-0.55 * loss)))


def _metrics_event(step: int, total: int, metrics: dict[str, float], hex_ids: bool) -> JobEvent:
    return JobEvent(
        id=new_id("ftevent-", hex_ids), created_at=0.0, type="metrics",
        message=(f"Step {step}/{total}: training loss={metrics['train_loss']:.2f}, "
                 f"validation loss={metrics['valid_loss']:.2f}"),
        data={"step": step, "total_steps": total, **metrics},
    )

"""Training metrics from a job's metric events and checkpoints: the latest step wins; and the
job's loss curve, every step's loss.

Providers report per step ``train_loss``, ``train_mean_token_accuracy``, ``valid_loss``,
``valid_mean_token_accuracy`` and, at checkpoints, the same over the whole validation
file (``full_valid_*``), which is preferred to the one-batch figure. An event without data
whose message is OpenAI's ``Step N/M: training loss=…, validation loss=…`` counts too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from distillery_contracts.finetune import MAX_CHECKPOINTS, JobCheckpoint, JobMetrics, LossPoint, bounded_curve
from distillery_finetune_controller.domain.provider_types import ProviderCheckpoint, ProviderEvent

_STEP_MESSAGE = re.compile(
    r"^Step (?P<step>\d+)/\d+: training loss=(?P<train_loss>\d+(?:\.\d+)?)"
    r"(?:, validation loss=(?P<valid_loss>\d+(?:\.\d+)?))?")

_SOURCES = {
    "train_loss": ("train_loss",),
    "valid_loss": ("full_valid_loss", "valid_loss"),
    "train_token_accuracy": ("train_mean_token_accuracy",),
    "valid_token_accuracy": ("full_valid_mean_token_accuracy", "valid_mean_token_accuracy"),
}
_ACCURACIES = {"train_token_accuracy", "valid_token_accuracy"}


def metrics_of(values: Mapping[str, Any]) -> JobMetrics | None:
    """The metrics in one event's data or checkpoint's metrics; None if it has none."""
    step = values.get("step")
    fields: dict[str, Any] = {}
    for name, keys in _SOURCES.items():
        value = next((values[k] for k in keys if _usable(values.get(k), name in _ACCURACIES)), None)
        if value is not None:
            fields[name] = float(value)
    if not fields:
        return None
    if isinstance(step, int | float) and not isinstance(step, bool) and step >= 0:
        fields["step"] = int(step)
    return JobMetrics(**fields)


def latest_metrics(current: JobMetrics, samples: Iterable[Mapping[str, Any]]) -> JobMetrics:
    """``current`` updated with every sample at the same or a later step, in step order."""
    found = [m for m in (metrics_of(s) for s in samples) if m is not None]
    merged = current.model_dump()
    for metrics in sorted(found, key=lambda m: m.step if m.step is not None else -1):
        if current.step is not None and (metrics.step is None or metrics.step < current.step):
            continue
        merged.update({k: v for k, v in metrics.model_dump().items() if v is not None})
    return JobMetrics(**merged)


def _usable(value: Any, is_accuracy: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    return 0.0 <= value <= 1.0 if is_accuracy else value >= 0.0


def loss_curve(events: Iterable[ProviderEvent], checkpoints: Iterable[ProviderCheckpoint]) -> list[LossPoint]:
    """One point per step that has a training loss, in step order, bounded for an event.

    A checkpoint's figures at a step replace its event's (a checkpoint's validation loss is the
    whole file's); a later event at a step replaces an earlier one.
    """
    samples = [(e.created_at, _event_values(e)) for e in sorted(events, key=lambda e: (e.created_at, e.event_id))]
    samples += [(cp.created_at, {**cp.metrics, "step": cp.step}) for cp in checkpoints]
    by_step: dict[int, dict[str, Any]] = {}
    for at, values in samples:
        metrics = metrics_of(values)
        if metrics is None or metrics.step is None:
            continue
        point = by_step.setdefault(metrics.step, {"step": metrics.step, "at": at})
        point.update({k: v for k, v in (("train_loss", metrics.train_loss), ("valid_loss", metrics.valid_loss))
                      if v is not None})
    curve = [LossPoint(**p) for _, p in sorted(by_step.items()) if "train_loss" in p]
    return bounded_curve(curve)


def job_checkpoints(checkpoints: Iterable[ProviderCheckpoint]) -> list[JobCheckpoint]:
    """The provider's checkpoints in step order, the latest ``MAX_CHECKPOINTS``, each with its
    losses (the whole validation file's where measured)."""
    found = []
    for cp in sorted(checkpoints, key=lambda cp: (cp.step, cp.created_at)):
        metrics = metrics_of(cp.metrics) or JobMetrics()
        found.append(JobCheckpoint(step=cp.step, model=cp.model_checkpoint, train_loss=metrics.train_loss,
                                   valid_loss=metrics.valid_loss, at=cp.created_at))
    return found[-MAX_CHECKPOINTS:]


def _event_values(event: ProviderEvent) -> Mapping[str, Any]:
    if event.data and metrics_of(event.data) is not None:
        return event.data
    found = _STEP_MESSAGE.match(event.message)
    if found is None:
        return {}
    return {k: int(v) if k == "step" else float(v) for k, v in found.groupdict().items() if v is not None}

"""Training metrics from a job's metric events and checkpoints: the latest step wins.

Providers report per step ``train_loss``, ``train_mean_token_accuracy``, ``valid_loss``,
``valid_mean_token_accuracy`` and, at checkpoints, the same over the whole validation
file (``full_valid_*``), which is preferred to the one-batch figure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from distillery_contracts.finetune import JobMetrics

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

"""What a training run reports after each step, and the hooks a caller passes (no torch here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TrainingProgress:
    """Reported after every optimizer step (as a job event, or a progress bar)."""

    step: int
    total_steps: int
    epoch: float
    loss: float | None
    tokens_per_second: float | None
    eta_seconds: float | None
    elapsed_seconds: float
    resumed_from: int = 0


ProgressHook = Callable[[TrainingProgress], None]
CancelCheck = Callable[[], bool]
CheckpointHook = Callable[[int], None]
"""Called with the step number once a checkpoint (a resume point) is on disk."""

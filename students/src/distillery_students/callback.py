"""A transformers callback that reports progress and honours a cancel check between steps."""

from __future__ import annotations

import time
from typing import Any

from transformers import TrainerCallback

from distillery_students.progress import CancelCheck, CheckpointHook, ProgressHook, TrainingProgress


class ProgressCallback(TrainerCallback):
    def __init__(self, on_progress: ProgressHook | None, should_cancel: CancelCheck | None,
                 on_checkpoint: CheckpointHook | None = None) -> None:
        self.on_progress = on_progress
        self.should_cancel = should_cancel
        self.on_checkpoint = on_checkpoint
        self.cancelled = False
        self.started = time.monotonic()
        self.first_step = 0
        self.first_tokens = 0
        self.tokens = 0
        self.elapsed = 0.0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.started = time.monotonic()
        self.first_step = state.global_step  # > 0 when resumed from a checkpoint
        self.first_tokens = self.tokens = state.num_input_tokens_seen

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._maybe_cancel(control)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.on_checkpoint is not None:
            self.on_checkpoint(state.global_step)

    def _maybe_cancel(self, control: Any) -> None:
        # Checked at the end of a step and again once its progress is reported, so a cancel
        # asked in answer to step N's report stops before step N+1 (and saves no checkpoint).
        if self.should_cancel is not None and self.should_cancel():
            self.cancelled = True
            control.should_training_stop = True
            control.should_save = False

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None,
               **kwargs: Any) -> None:
        if not logs or "loss" not in logs:
            return
        self.elapsed = time.monotonic() - self.started
        self.tokens = state.num_input_tokens_seen
        steps_done = state.global_step - self.first_step
        per_step = self.elapsed / steps_done if steps_done else None
        eta = per_step * (state.max_steps - state.global_step) if per_step is not None else None
        if self.on_progress is not None:
            self.on_progress(TrainingProgress(
                step=state.global_step, total_steps=state.max_steps, epoch=float(state.epoch or 0.0),
                loss=float(logs["loss"]), tokens_per_second=self.tokens_per_second(), eta_seconds=eta,
                elapsed_seconds=self.elapsed, resumed_from=self.first_step))
        self._maybe_cancel(control)

    def tokens_per_second(self) -> float | None:
        if self.elapsed <= 0:
            return None
        return round((self.tokens - self.first_tokens) / self.elapsed, 1)

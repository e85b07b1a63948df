"""What the sandbox stores about a fine-tuning job: pydantic records, so a snapshot file
can hold them as JSON."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

JobStatus = Literal["created", "validating_files", "queued", "running", "paused",
                    "succeeded", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
HOLDS_SLOT: frozenset[str] = frozenset({"running", "paused"})


class JobError(BaseModel):
    """Why a job failed, as the provider reports it."""

    code: str
    message: str
    param: str | None = None


class Hyperparameters(BaseModel):
    """Resolved hyperparameters (what "auto" became)."""

    n_epochs: int
    batch_size: int
    learning_rate_multiplier: float


class JobEvent(BaseModel):
    """One line of the job's event log; `type` "metrics" events carry step metrics."""

    id: str
    created_at: float
    level: Literal["info", "warn", "error"] = "info"
    message: str
    type: Literal["message", "metrics"] = "message"
    data: dict[str, Any] = Field(default_factory=dict)


class Checkpoint(BaseModel):
    """A model checkpoint saved at the end of an epoch."""

    id: str
    created_at: float
    step_number: int
    metrics: dict[str, float]


class PlannedItem(BaseModel):
    """An event or checkpoint due once `fraction` of the run's training time has passed."""

    fraction: float
    event: JobEvent | None = None
    checkpoint: Checkpoint | None = None


class JobRecord(BaseModel):
    """A fine-tuning job and everything it has produced so far.

    Times are unix seconds (floats; the API shows whole seconds). `phase_started_at` is
    when the current status began; `files_ready_at` when its files became usable.
    """

    id: str
    flavour: Literal["openai", "azure"]
    model: str
    snapshot: str
    training_file: str
    validation_file: str | None = None
    suffix: str | None = None
    seed: int
    metadata: dict[str, str] | None = None
    hyperparameters: Hyperparameters
    created_at: float
    files_ready_at: float
    status: JobStatus = "created"
    phase_started_at: float
    run_seconds: float
    started_at: float | None = None
    paused_at: float | None = None
    paused_total: float = 0.0
    examples: int | None = None
    training_tokens: int | None = None
    fine_tuned_model: str | None = None
    finished_at: float | None = None
    error: JobError | None = None
    trained_tokens: int | None = None
    result_files: list[str] = Field(default_factory=list)
    events: list[JobEvent] = Field(default_factory=list)
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    plan: list[PlannedItem] = Field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def run_end(self) -> float | None:
        """When training finishes at the current pace (None while not training)."""
        if self.status != "running" or self.started_at is None:
            return None
        return self.started_at + self.paused_total + self.run_seconds

    def trained_for(self, now: float) -> float:
        """Seconds of training done by `now` (pauses excluded)."""
        if self.started_at is None:
            return 0.0
        until = self.paused_at if self.status == "paused" and self.paused_at else now
        if self.finished_at is not None:
            until = min(until, self.finished_at)
        return max(0.0, until - self.started_at - self.paused_total)

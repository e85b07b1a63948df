"""``distillery.finetune.jobs.v1``: every state change of a fine-tuning job."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, Field, JsonValue, model_validator

from distillery_contracts.base import Event
from distillery_contracts.common import Count


class JobStatus(StrEnum):
    """Our job states; providers' own states (Azure's created, pending, paused) map onto these."""

    SUBMITTED = "submitted"
    VALIDATING = "validating"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUSED = "refused"

    @property
    def terminal(self) -> bool:
        """No further state change follows."""
        return self in TERMINAL_JOB_STATUSES


TERMINAL_JOB_STATUSES = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.REFUSED}
)


class JobError(BaseModel):
    """Why a job failed or was refused."""

    code: str | None = Field(
        default=None,
        description="Provider error code (e.g. 'invalid_training_file'), or ours "
        "('model_retired', 'quota') for refusals.",
    )
    message: str = Field(min_length=1, description="The provider's message, or our refusal reason.")


class Hyperparameters(BaseModel):
    """Training hyperparameters; 'auto' until the provider resolves them."""

    n_epochs: int | Literal["auto"] | None = Field(default=None, description="Training epochs.")
    batch_size: int | Literal["auto"] | None = Field(default=None, description="Batch size.")
    learning_rate_multiplier: float | Literal["auto"] | None = Field(
        default=None, description="Learning rate multiplier."
    )
    seed: int | None = Field(
        default=None, description="Seed sent with the job, for reproducibility."
    )
    extra: dict[str, JsonValue] = Field(
        default_factory=dict, description="Provider-specific hyperparameters, as sent."
    )


class JobMetrics(BaseModel):
    """Latest training metrics from the job's events or checkpoints."""

    step: Count | None = Field(default=None, description="Training step the metrics belong to.")
    train_loss: float | None = Field(default=None, ge=0.0, description="Training loss.")
    valid_loss: float | None = Field(default=None, ge=0.0, description="Validation loss.")
    train_token_accuracy: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Training mean token accuracy."
    )
    valid_token_accuracy: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Validation mean token accuracy."
    )


MAX_CHECKPOINTS = 100
MAX_LOSS_POINTS = 2_000
"""The most points a job event's loss curve holds: 2,000 points of ~110 bytes keep an event
near 220 kB, far below the broker's 1 MiB message limit."""


class LossPoint(BaseModel):
    """The training loss the provider logged at one step."""

    step: Count = Field(description="Training step.")
    train_loss: float = Field(ge=0.0, description="Training loss at the step.")
    valid_loss: float | None = Field(
        default=None,
        ge=0.0,
        description="Validation loss at the step, when the provider measured it (the full "
        "validation file's at a checkpoint, else one batch's).",
    )
    at: AwareDatetime | None = Field(
        default=None, description="When the provider logged it, when it says."
    )


class JobCheckpoint(BaseModel):
    """A checkpoint the provider kept: a model of the run at one step, servable on its own."""

    step: Count = Field(description="Training step of the checkpoint.")
    model: str = Field(min_length=1, description="The checkpoint's model id (ft:...:ckpt-step-N on OpenAI).")
    train_loss: float | None = Field(default=None, ge=0.0, description="Training loss at the step.")
    valid_loss: float | None = Field(
        default=None, ge=0.0, description="Validation loss over the whole validation file, when measured."
    )
    at: AwareDatetime | None = Field(default=None, description="When the provider made it.")


def bounded_curve(points: Sequence[LossPoint], limit: int = MAX_LOSS_POINTS) -> list[LossPoint]:
    """``points`` (in step order) if there are at most ``limit``; else ``limit`` of them evenly
    spaced by position, the first and the last among them."""
    if limit < 2:
        raise ValueError("a bounded curve keeps at least its first and last points")
    if len(points) <= limit:
        return list(points)
    last = len(points) - 1
    return [points[round(i * last / (limit - 1))] for i in range(limit)]


class PublishedDates(BaseModel):
    """What a provider publishes about a base model's life (Azure's ``deprecation``, OpenAI's
    ``shutdown_date``), as the lifecycle guard read it."""

    source: str = Field(min_length=1, description="Where the dates come from, e.g. 'Azure model deprecation'.")
    fine_tune_until: date | None = Field(default=None, description="Last day a new fine-tuning job is accepted.")
    shutdown: date | None = Field(
        default=None, description="Day the base model and the fine-tunes built on it stop serving.")


class FinetuneJobChanged(Event):
    """A fine-tuning job moved to a new state.

    One event per (job, status); on Azure, ``succeeded`` is published once the
    fine-tuned model is deployed, since it cannot serve before.
    """

    event_type: ClassVar[str] = "FinetuneJobChanged"
    schema_version: ClassVar[int] = 1

    job_id: str = Field(min_length=1, description="Our job id (stable across provider retries).")
    provider: str = Field(
        min_length=1, description="Provider name from configuration: 'openai', 'azure', ..."
    )
    provider_job_id: str | None = Field(
        default=None,
        description="The provider's job id (ftjob-...); None before creation or when refused.",
    )
    dataset_id: str = Field(min_length=1, description="Dataset the job trains on.")
    cycle_id: str | None = Field(default=None, description="Distillation cycle.")
    base_model: str = Field(min_length=1, description="Model being fine-tuned.")
    status: JobStatus = Field(description="The new state.")
    fine_tuned_model: str | None = Field(
        default=None, description="Resulting model id (ft:gpt-4o-mini:...), once succeeded."
    )
    deployment_name: str | None = Field(
        default=None, description="Azure deployment serving the model; None on OpenAI."
    )
    error: JobError | None = Field(default=None, description="Set when failed or refused.")
    base_model_dates: PublishedDates | None = Field(
        default=None,
        description="The dates the provider publishes for base_model, as the lifecycle guard read them "
        "(whether it passed or refused the job): what the console warns of this provider's arms by. None when "
        "the provider published none, before the guard ran, and in events published before this field existed.",
    )
    trained_tokens: Count | None = Field(default=None, description="Billed training tokens.")
    hyperparameters: Hyperparameters = Field(
        default_factory=Hyperparameters, description="Hyperparameters requested or resolved."
    )
    metrics: JobMetrics = Field(default_factory=JobMetrics, description="Latest training metrics.")
    loss_curve: list[LossPoint] = Field(
        default_factory=list,
        max_length=MAX_LOSS_POINTS,
        description="Every training loss the provider logged so far, one point per step in "
        "step order (a succeeded event carries the whole run). A job that logged more than "
        f"{MAX_LOSS_POINTS:,} steps keeps {MAX_LOSS_POINTS:,} evenly spaced points, the "
        "first and the last among them. Empty before training starts and in events "
        "published before this field existed.",
    )
    checkpoints: list[JobCheckpoint] = Field(
        default_factory=list,
        max_length=MAX_CHECKPOINTS,
        description="The checkpoints the provider kept so far, in step order (OpenAI keeps the "
        f"last three epochs'); at most {MAX_CHECKPOINTS}, the latest. Empty in events published "
        "before this field existed.",
    )
    occurred_at: AwareDatetime = Field(description="When the change was observed.")

    @model_validator(mode="after")
    def _status_fields(self) -> FinetuneJobChanged:
        if self.status is JobStatus.SUCCEEDED and not self.fine_tuned_model:
            raise ValueError("a succeeded job needs fine_tuned_model")
        if self.status in (JobStatus.FAILED, JobStatus.REFUSED) and self.error is None:
            raise ValueError(f"a {self.status} job needs an error saying why")
        steps = [p.step for p in self.loss_curve]
        if any(a >= b for a, b in zip(steps, steps[1:], strict=False)):
            raise ValueError("loss_curve points must be in increasing step order, one per step")
        return self

    def event_id(self) -> str:
        return f"{self.job_id}:{self.status}"

    def partition_key(self) -> str:
        return self.dataset_id

"""``distillery.finetune.jobs.v1``: every state change of a fine-tuning job."""

from __future__ import annotations

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
    trained_tokens: Count | None = Field(default=None, description="Billed training tokens.")
    hyperparameters: Hyperparameters = Field(
        default_factory=Hyperparameters, description="Hyperparameters requested or resolved."
    )
    metrics: JobMetrics = Field(default_factory=JobMetrics, description="Latest training metrics.")
    occurred_at: AwareDatetime = Field(description="When the change was observed.")

    @model_validator(mode="after")
    def _status_fields(self) -> FinetuneJobChanged:
        if self.status is JobStatus.SUCCEEDED and not self.fine_tuned_model:
            raise ValueError("a succeeded job needs fine_tuned_model")
        if self.status in (JobStatus.FAILED, JobStatus.REFUSED) and self.error is None:
            raise ValueError(f"a {self.status} job needs an error saying why")
        return self

    def event_id(self) -> str:
        return f"{self.job_id}:{self.status}"

    def partition_key(self) -> str:
        return self.dataset_id

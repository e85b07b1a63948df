"""Command topics: what operators (or schedulers) ask the services to do.

Commands are imperative and carry ``requested_by`` and ``requested_at`` (see
``base.Command``); the service that owns the work consumes them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import AwareDatetime, Field, model_validator

from distillery_contracts.base import Command
from distillery_contracts.signatures import Signature


class BackfillRange(Command):
    """Re-read Langfuse generations in a time range (``distillery ingest backfill``)."""

    event_type: ClassVar[str] = "BackfillRange"
    schema_version: ClassVar[int] = 1

    from_time: AwareDatetime = Field(description="Start of the range (inclusive).")
    to_time: AwareDatetime = Field(description="End of the range (exclusive).")
    project_id: str | None = Field(
        default=None, description="Langfuse project to re-read; None for every configured project."
    )

    @model_validator(mode="after")
    def _ordered(self) -> BackfillRange:
        if self.to_time <= self.from_time:
            raise ValueError(
                f"backfill range is empty: to {self.to_time} is not after from {self.from_time}"
            )
        return self

    def partition_key(self) -> str:
        return self.project_id or "all"


class BuildDataset(Command):
    """Build a dataset now (``distillery dataset build``) instead of waiting for a trigger."""

    event_type: ClassVar[str] = "BuildDataset"
    schema_version: ClassVar[int] = 1

    target_size: int | None = Field(
        default=None, ge=10, description="Examples to select; None for the configured default."
    )
    base_model: str | None = Field(
        default=None, description="Model to fine-tune; None for configured."
    )
    cycle_id: str | None = Field(
        default=None, description="Cycle to attach the build to; None: new."
    )


class CancelJob(Command):
    """Cancel a fine-tuning job (``distillery finetune cancel JOB``)."""

    event_type: ClassVar[str] = "CancelJob"
    schema_version: ClassVar[int] = 1

    job_id: str = Field(min_length=1, description="Our job id.")
    reason: str | None = Field(default=None, description="Why, for the job's history.")

    def partition_key(self) -> str:
        return self.job_id


class RunEvaluation(Command):
    """Evaluate a model offline (``distillery eval run --model NAME``)."""

    event_type: ClassVar[str] = "RunEvaluation"
    schema_version: ClassVar[int] = 1

    model: str = Field(min_length=1, description="Model to evaluate.")
    baselines: list[str] = Field(
        default_factory=list,
        description="Models to compare with besides the teacher; empty: the production student.",
    )
    dataset_id: str | None = Field(
        default=None, description="Dataset whose validation split to use; None: the latest."
    )

    def partition_key(self) -> str:
        return self.model


class RolloutCommand(Command):
    """Base of the commands that act on one rollout; keyed by rollout so they stay in order.

    The controller obeys only a command signed by a trusted operator key whose identity is
    ``requested_by`` (see ``signatures``); ``force`` needs the ``operator`` role."""

    rollout_id: str = Field(min_length=1, description="The rollout to act on.")
    reason: str | None = Field(default=None, description="Why, recorded with the decision.")
    signature: Signature | None = Field(
        default=None, description="The operator's signature of every other field; None: refused.")

    def partition_key(self) -> str:
        return self.rollout_id

    def signed_content(self) -> dict[str, Any]:
        """Every field but the signature: who, when, which rollout, what and why."""
        return self.model_dump(mode="json", exclude={"signature"})


class PauseRollout(RolloutCommand):
    """Hold the rollout's current weights until resumed."""

    event_type: ClassVar[str] = "PauseRollout"
    schema_version: ClassVar[int] = 1


class ResumeRollout(RolloutCommand):
    """Let a paused rollout continue evaluating its gates."""

    event_type: ClassVar[str] = "ResumeRollout"
    schema_version: ClassVar[int] = 1


class AbortRollout(RolloutCommand):
    """Stop the rollout and send all student traffic back to the previous model."""

    event_type: ClassVar[str] = "AbortRollout"
    schema_version: ClassVar[int] = 1


class AdvanceRollout(RolloutCommand):
    """Move to the next stage; with ``force`` even when the gates do not yet allow it."""

    event_type: ClassVar[str] = "AdvanceRollout"
    schema_version: ClassVar[int] = 1

    force: bool = Field(default=False, description="Advance without passing gates (recorded).")

    @model_validator(mode="after")
    def _forced_needs_reason(self) -> AdvanceRollout:
        if self.force and not self.reason:
            raise ValueError("a forced advance needs a reason")
        return self


ROLLOUT_COMMANDS: tuple[type[RolloutCommand], ...] = (
    PauseRollout,
    ResumeRollout,
    AbortRollout,
    AdvanceRollout,
)
"""Every command on one rollout: what ``distillery.commands.rollout.v1`` carries, in order."""

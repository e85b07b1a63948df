"""What an evaluation run is asked to do, fixed when its trigger arrives."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from distillery_contracts.base import stable_hash
from distillery_evaluator.domain.results import CANDIDATE, PRODUCTION, TEACHER, baseline_role


class ModelTarget(BaseModel):
    """A model and where it is served (an Azure deployment name, when there is one)."""

    model: str = Field(min_length=1)
    deployment: str | None = None
    provider: str | None = None
    """The provider a student was trained with, which serves it ('openai', 'selfhosted', ...);
    None for the teacher and for a model the evaluator never saw trained."""

    @property
    def served_as(self) -> str:
        """The name a chat completion request uses: the deployment on Azure, else the model."""
        return self.deployment or self.model


class RunRequest(BaseModel):
    """An offline evaluation: the candidate, what it is compared with, and on what data.

    The production student is resolved when the trigger arrives, so that a rerun of the
    same request compares with the same model even if production moved on meanwhile.
    """

    run_id: str
    trigger: Literal["finetune", "command"]
    candidate: ModelTarget
    teacher: ModelTarget
    production: ModelTarget | None = None
    baselines: list[ModelTarget] = Field(default_factory=list)
    job_id: str | None = None
    dataset_id: str | None = None
    cycle_id: str | None = None
    validation_uri: str | None = None
    requested_by: str | None = None

    def roles(self) -> dict[str, ModelTarget]:
        """Every model that answers, by role; the candidate first."""
        roles = {CANDIDATE: self.candidate, TEACHER: self.teacher}
        if self.baselines:
            roles.update({baseline_role(b.model): b for b in self.baselines})
        elif self.production is not None and self.production.model != self.candidate.model:
            roles[PRODUCTION] = self.production
        return roles


def run_id_for_job(job_id: str, model: str) -> str:
    """One run per fine-tuned model of a job, however often its success is redelivered."""
    return f"eval-{stable_hash('job', job_id, model, length=12)}"


def run_id_for_command(command_id: str) -> str:
    return f"eval-{stable_hash('command', command_id, length=12)}"

"""The wire shapes of OpenAI's files and fine-tuning API that the trainer speaks.

Objects are rendered as OpenAI documents them (``../shared/specs``), plus two fields of
the trainer's own on a job: ``training_settings`` (everything it trained with) and
``adapter`` (where the adapter was published, with its sha256). Clients ignore fields
they do not know.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from distillery_trainer.domain.hyperparameters import Requested
from distillery_trainer.domain.job import Checkpoint, JobEvent, TrainingFile, TrainingJob

OWNER = "distillery-trainer"


class Hyperparameters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    n_epochs: int | Literal["auto"] | None = None
    batch_size: int | Literal["auto"] | None = None
    learning_rate_multiplier: float | Literal["auto"] | None = None

    def requested(self) -> Requested:
        def value(x: Any) -> Any:
            return None if x == "auto" else x

        return Requested(n_epochs=value(self.n_epochs), batch_size=value(self.batch_size),
                         learning_rate_multiplier=value(self.learning_rate_multiplier))


class Supervised(BaseModel):
    hyperparameters: Hyperparameters = Hyperparameters()


class Method(BaseModel):
    type: Literal["supervised"] = "supervised"
    supervised: Supervised = Supervised()


class CreateJob(BaseModel):
    """``POST /v1/fine_tuning/jobs``; only supervised fine-tuning exists here."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    training_file: str = Field(min_length=1)
    validation_file: str | None = None
    suffix: str | None = Field(default=None, max_length=64)
    seed: int | None = Field(default=None, ge=0, le=2_147_483_647)
    metadata: dict[str, str] | None = Field(default=None, max_length=16)
    hyperparameters: Hyperparameters | None = None
    method: Method | None = None

    def requested(self) -> Requested:
        chosen = self.method.supervised.hyperparameters if self.method else self.hyperparameters
        return chosen.requested() if chosen else Requested()


def _ts(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None


def job_object(job: TrainingJob) -> dict[str, Any]:
    settings = job.settings
    hyper = {"n_epochs": settings.get("epochs"), "batch_size": settings.get("batch_size"),
             "learning_rate_multiplier": job.requested.get("learning_rate_multiplier") or 1.0}
    return {
        "id": job.job_id, "object": "fine_tuning.job", "model": job.base_model,
        "created_at": _ts(job.created_at), "finished_at": _ts(job.finished_at),
        "fine_tuned_model": job.fine_tuned_model, "organization_id": OWNER, "result_files": [],
        "status": job.status.value, "validation_file": job.validation_file, "training_file": job.training_file,
        "hyperparameters": hyper, "method": {"type": "supervised", "supervised": {"hyperparameters": hyper}},
        "trained_tokens": job.trained_tokens, "error": job.error, "seed": settings.get("seed"),
        "suffix": job.suffix, "metadata": job.metadata or None, "estimated_finish": None, "integrations": [],
        "training_settings": settings,
        "adapter": ({"uri": job.adapter.uri, "sha256": job.adapter.sha256, "bytes": job.adapter.bytes}
                    if job.adapter else None),
    }


def file_object(file: TrainingFile) -> dict[str, Any]:
    return {"id": file.file_id, "object": "file", "bytes": file.bytes, "created_at": _ts(file.created_at),
            "filename": file.filename, "purpose": file.purpose, "status": file.status,
            "status_details": file.status_details}


def event_object(event: JobEvent) -> dict[str, Any]:
    return {"id": event.event_id, "object": "fine_tuning.job.event", "created_at": _ts(event.created_at),
            "level": event.level, "message": event.message, "type": event.type, "data": event.data or {}}


def checkpoint_object(job_id: str, checkpoint: Checkpoint) -> dict[str, Any]:
    return {"id": checkpoint.checkpoint_id, "object": "fine_tuning.job.checkpoint",
            "created_at": _ts(checkpoint.created_at), "fine_tuning_job_id": job_id,
            "fine_tuned_model_checkpoint": checkpoint.model_checkpoint, "step_number": checkpoint.step,
            "metrics": checkpoint.metrics}


def model_object(name: str, created: int = 0) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": OWNER}


def page(data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"object": "list", "data": data, "has_more": has_more}
    if data:
        body["first_id"], body["last_id"] = data[0]["id"], data[-1]["id"]
    return body


def error_body(message: str, *, type: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}

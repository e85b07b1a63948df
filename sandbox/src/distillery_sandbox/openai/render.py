"""Records as each flavour's JSON: OpenAI's objects (nullable fields present as null) and
Azure's (absent fields left out, its own status and level names, numbers for dates)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from distillery_sandbox.openai.catalogue import ModelInfo, unix_day
from distillery_sandbox.openai.files import FileRecord
from distillery_sandbox.openai.job_records import Checkpoint, JobEvent, JobRecord
from distillery_sandbox.openai.registry import FineTunedModel

_AZURE_STATUS = {"created": "created", "validating_files": "pending", "queued": "pending",
                 "running": "running", "paused": "paused", "succeeded": "succeeded",
                 "failed": "failed", "cancelled": "cancelled"}


def file_object(record: FileRecord, flavour: str, now: float) -> dict[str, Any]:
    status = record.status(now) if flavour == "azure" else "processed"
    return {"object": "file", "id": record.id, "bytes": record.bytes,
            "created_at": int(record.created_at), "filename": record.filename,
            "purpose": record.purpose, "status": status}


def job_object(job: JobRecord, flavour: str) -> dict[str, Any]:
    hyper = job.hyperparameters.model_dump()
    if flavour == "azure":
        return _azure_job(job, hyper)
    return {
        "object": "fine_tuning.job", "id": job.id, "created_at": int(job.created_at),
        "error": job.error.model_dump() if job.error else None,
        "fine_tuned_model": job.fine_tuned_model,
        "finished_at": _int(job.finished_at), "hyperparameters": hyper, "model": job.model,
        "organization_id": "org-distillery", "result_files": job.result_files,
        "status": "validating_files" if job.status == "created" else job.status,
        "trained_tokens": job.trained_tokens, "training_file": job.training_file,
        "validation_file": job.validation_file, "integrations": None, "seed": job.seed,
        "estimated_finish": _int(job.run_end()),
        "method": {"type": "supervised", "supervised": {"hyperparameters": hyper}},
        "metadata": job.metadata,
    }


def _azure_job(job: JobRecord, hyper: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "fine_tuning.job", "id": job.id, "created_at": int(job.created_at),
        "status": _AZURE_STATUS[job.status], "model": job.model,
        "training_file": job.training_file, "result_files": job.result_files,
        "hyperparameters": hyper, "seed": job.seed,
    }
    optional = {
        "validation_file": job.validation_file, "fine_tuned_model": job.fine_tuned_model,
        "finished_at": _int(job.finished_at), "trained_tokens": job.trained_tokens,
        "estimated_finish": _int(job.run_end()), "suffix": job.suffix,
        "error": job.error.model_dump(exclude_none=True) if job.error else None,
        "metadata": job.metadata,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    return body


def event_object(event: JobEvent, flavour: str) -> dict[str, Any]:
    level = "warning" if flavour == "azure" and event.level == "warn" else event.level
    return {"object": "fine_tuning.job.event", "id": event.id,
            "created_at": int(event.created_at), "level": level, "message": event.message,
            "type": event.type, "data": event.data}


def checkpoint_object(checkpoint: Checkpoint, job: JobRecord, model_name: str) -> dict[str, Any]:
    return {"object": "fine_tuning.job.checkpoint", "id": checkpoint.id,
            "created_at": int(checkpoint.created_at),
            "fine_tuned_model_checkpoint": f"{model_name}:ckpt-step-{checkpoint.step_number}",
            "step_number": checkpoint.step_number, "metrics": checkpoint.metrics,
            "fine_tuning_job_id": job.id}


def model_object(model: ModelInfo | FineTunedModel, flavour: str) -> dict[str, Any]:
    if flavour == "openai":
        return {"object": "model", "id": model.id, "created": model.created,
                "owned_by": model.owned_by, "shutdown_date": _day(model.shutdown_date)}
    body: dict[str, Any] = {"object": "model", "id": model.id, "created_at": model.created,
                            "lifecycle_status": "generally-available"}
    retire = model.shutdown_date or (date.fromtimestamp(model.created) + timedelta(days=730))
    if isinstance(model, FineTunedModel):
        body.update(status="succeeded", model=model.base, fine_tune=model.job_id,
                    deprecation={"inference": unix_day(retire)})
        fine_tunable = False
    else:
        body["lifecycle_status"] = model.lifecycle_status
        body["deprecation"] = {"inference": unix_day(retire)}
        if model.fine_tune_until is not None:
            body["deprecation"]["fine_tune"] = unix_day(model.fine_tune_until)
        fine_tunable = model.fine_tune_until is not None
    body["capabilities"] = {"fine_tune": fine_tunable, "inference": True, "completion": False,
                            "chat_completion": True, "embeddings": False}
    return body


def list_object(data: list[dict[str, Any]], has_more: bool | None = None,
                ids: bool = False) -> dict[str, Any]:
    """A list envelope; `has_more` and `first_id`/`last_id` only where the API has them."""
    body: dict[str, Any] = {"object": "list", "data": data}
    if has_more is not None:
        body["has_more"] = has_more
    if ids:
        body["first_id"] = data[0]["id"] if data else None
        body["last_id"] = data[-1]["id"] if data else None
    return body


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()

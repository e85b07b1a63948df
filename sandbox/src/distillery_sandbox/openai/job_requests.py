"""Checking a create-fine-tuning-job request as the provider would, before any job exists."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from distillery_sandbox.openai.errors import bad_request

_AZURE_SUFFIX = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")
_LIMITS = {"n_epochs": (1, 50), "batch_size": (1, 256)}


@dataclass(frozen=True)
class JobRequest:
    """A valid request: hyperparameters still as given ("auto" or numbers)."""

    model: str
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int | None
    metadata: dict[str, str] | None
    hyperparameters: dict[str, Any]


def read_job_request(body: Any, flavour: str) -> JobRequest:
    """The request's fields, or a 400 naming the first bad one."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("'model' is required: the base model to fine-tune.", "model")
    training_file = body.get("training_file")
    if not isinstance(training_file, str) or not training_file:
        raise bad_request("'training_file' is required: the id of an uploaded file.",
                          "training_file")
    validation_file = body.get("validation_file")
    if validation_file is not None and not isinstance(validation_file, str):
        raise bad_request("'validation_file' must be a file id.", "validation_file")
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise bad_request("'seed' must be an integer.", "seed")
    return JobRequest(
        model=model, training_file=training_file, validation_file=validation_file or None,
        suffix=_suffix(body.get("suffix"), flavour), seed=seed,
        metadata=_metadata(body.get("metadata")),
        hyperparameters=_hyperparameters(body),
    )


def _suffix(suffix: Any, flavour: str) -> str | None:
    if suffix is None:
        return None
    if not isinstance(suffix, str) or not suffix:
        raise bad_request("'suffix' must be a non-empty string.", "suffix")
    if flavour == "azure" and not _AZURE_SUFFIX.match(suffix):
        raise bad_request("The suffix can contain up to 40 characters (a-z, A-Z, 0-9, - and _).",
                          "suffix")
    if len(suffix) > 64:
        raise bad_request(f"'suffix' is {len(suffix)} characters; the maximum is 64.", "suffix")
    return suffix


def _metadata(metadata: Any) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or len(metadata) > 16:
        raise bad_request("'metadata' must be an object of at most 16 string pairs.", "metadata")
    for key, value in metadata.items():
        if not isinstance(value, str) or len(key) > 64 or len(value) > 512:
            raise bad_request(
                f"metadata[{key!r}]: keys are strings up to 64 characters, values strings "
                "up to 512.", "metadata")
    return dict(metadata)


def _hyperparameters(body: dict[str, Any]) -> dict[str, Any]:
    """From `method.supervised.hyperparameters`, or the older top-level `hyperparameters`."""
    given = body.get("hyperparameters") or {}
    method = body.get("method")
    if method is not None:
        if not isinstance(method, dict) or method.get("type") != "supervised":
            kind = method.get("type") if isinstance(method, dict) else method
            raise bad_request(f"Method {kind!r} is not simulated; use {{\"type\": \"supervised\"}}.",
                              "method")
        supervised = method.get("supervised") or {}
        if not isinstance(supervised, dict):
            raise bad_request("'method.supervised' must be an object.", "method")
        given = supervised.get("hyperparameters") or given
    if not isinstance(given, dict):
        raise bad_request("'hyperparameters' must be an object.", "hyperparameters")
    for name, value in given.items():
        if name not in ("n_epochs", "batch_size", "learning_rate_multiplier"):
            raise bad_request(f"Unknown hyperparameter {name!r}.", "hyperparameters")
        if value in ("auto", None) or (name in _LIMITS and value == -1):
            continue
        if name == "learning_rate_multiplier":
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise bad_request("learning_rate_multiplier must be a number above 0.",
                                  "hyperparameters")
            continue
        low, high = _LIMITS[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise bad_request(f"{name} must be an integer from {low} to {high} or 'auto'.",
                              "hyperparameters")
    return {k: ("auto" if v in (None, -1) else v) for k, v in given.items()}

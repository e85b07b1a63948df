"""A job's training settings: the trainer's defaults, adjusted by what the job asks for.

OpenAI's fine-tuning API has three knobs: ``n_epochs``, ``batch_size`` and
``learning_rate_multiplier`` (a multiple of the default rate). Everything else
(LoRA rank, alpha, target modules, max length, ...) comes from the trainer's settings.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from distillery_students.domain.settings import TrainingSettings


class TrainingDefaults(BaseModel):
    """Defaults for every job; a 0.5B-8B instruct model on one GPU trains well with these."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lora_rank: int = Field(default=16, ge=1, le=512, description="LoRA rank r.")
    lora_alpha: int = Field(default=32, ge=1, description="LoRA alpha (scale alpha/r).")
    target_modules: str | list[str] = Field(
        default="all-linear", description="Modules that get LoRA layers: all-linear, or a JSON list of names.")
    epochs: float = Field(default=3, gt=0, le=100, description="Passes over the data (a job's n_epochs wins).")
    learning_rate: float = Field(
        default=2e-4, gt=0, lt=1, description="Peak rate; a job's learning_rate_multiplier scales it "
        "(SmolLM2-135M learns a new fact at 1e-3).")
    batch_size: int = Field(default=8, ge=1, description="Examples per optimizer step (a job's batch_size wins).")
    micro_batch_size: int = Field(default=2, ge=1, description="Examples per forward pass (memory).")
    max_length: int = Field(default=2048, ge=16, description="Tokens an example is cut to.")
    seed: int = Field(default=42, description="Seed of jobs that give none.")
    checkpoint_every: int = Field(default=50, ge=1, description="Steps between checkpoints (resume points).")


class Requested(BaseModel):
    """What a job asked for; None (or 'auto') leaves the default."""

    model_config = ConfigDict(frozen=True)

    n_epochs: int | None = None
    batch_size: int | None = None
    learning_rate_multiplier: float | None = None


class HyperparameterError(ValueError):
    """Hyperparameters a job cannot train with; one line naming the field."""


def resolve(base_model: str, defaults: TrainingDefaults, requested: Requested, seed: int | None) -> TrainingSettings:
    """The settings a job trains with."""
    batch = requested.batch_size or defaults.batch_size
    try:
        return TrainingSettings(
            base_model=base_model, lora_rank=defaults.lora_rank, lora_alpha=defaults.lora_alpha,
            target_modules=defaults.target_modules, epochs=requested.n_epochs or defaults.epochs,
            learning_rate=defaults.learning_rate * (requested.learning_rate_multiplier or 1.0),
            batch_size=batch, micro_batch_size=math.gcd(batch, defaults.micro_batch_size),
            max_length=defaults.max_length, seed=defaults.seed if seed is None else seed,
            checkpoint_every=defaults.checkpoint_every)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = {"epochs": "n_epochs", "learning_rate": "learning_rate_multiplier"}.get(
            str(first["loc"][0]) if first["loc"] else "", ".".join(map(str, first["loc"])))
        raise HyperparameterError(f"hyperparameters.{field}: {first['msg']}") from None

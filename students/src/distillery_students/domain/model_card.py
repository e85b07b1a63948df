"""The model card published beside every adapter: what it was trained from and how.

The serving side reads ``base_model.sha256`` to refuse an adapter trained on another base;
the trainer reads ``job`` to publish each job's adapter once.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from distillery_students.domain.chat_template import TEMPLATE_NAME, TEMPLATE_VERSION
from distillery_students.domain.settings import TrainingSettings

CARD_FILE = "model_card.json"
ADAPTER_FILE = "adapter_model.safetensors"
SUMS_FILE = "SHA256SUMS"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BaseModelRef(_Frozen):
    name: str = Field(description="The name it was given by (short name or path).")
    sha256: str = Field(description="Of the GGUF a short name resolves to, else of the checkpoint's weights.")


class DatasetRef(_Frozen):
    id: str | None = Field(default=None, description="The dataset-builder's dataset id, when known.")
    sha256: str = Field(description="Of the JSONL file's bytes.")
    examples: int
    tokens: int = Field(description="Tokens of every example, after cutting to max_length.")
    learned_tokens: int = Field(description="Tokens that carry loss (learned assistant messages).")
    truncated: int = Field(default=0, description="Examples cut to max_length.")
    answers_cut: int = Field(default=0, description="Of those, examples cut inside an answer they teach: "
                             "trained on its start only.")
    skipped: int = Field(default=0, description="Of those, examples left with nothing to learn: not trained on.")


class TemplateRef(_Frozen):
    name: str = TEMPLATE_NAME
    version: int = TEMPLATE_VERSION


class LossPoint(_Frozen):
    step: int
    epoch: float
    loss: float


class AdapterRef(_Frozen):
    file: str = ADAPTER_FILE
    sha256: str
    bytes: int


class ModelCard(_Frozen):
    kind: Literal["distillery.lora-adapter"] = "distillery.lora-adapter"
    schema_version: Literal[1] = 1
    job: str = Field(description="Fingerprint of base, dataset and settings: one adapter per job.")
    base_model: BaseModelRef
    dataset: DatasetRef
    hyperparameters: TrainingSettings
    template: TemplateRef = TemplateRef()
    adapter: AdapterRef
    loss_curve: list[LossPoint]
    steps: int
    epochs: float
    train_seconds: float = Field(description="Training time of the run that finished the job.")
    tokens_per_second: float | None = None
    device: str
    versions: dict[str, str] = Field(default_factory=dict, description="torch, transformers, peft, trl.")
    created_at: datetime

    @property
    def final_loss(self) -> float | None:
        return self.loss_curve[-1].loss if self.loss_curve else None


class AdapterMismatch(ValueError):
    """An adapter trained on another base model or with another chat template."""


def check_compatible(card: ModelCard, base: BaseModelRef, adapter_name: str) -> None:
    if card.base_model.sha256 != base.sha256:
        raise AdapterMismatch(
            f"adapter {adapter_name} was trained on {card.base_model.name} (sha256 "
            f"{card.base_model.sha256[:12]}), not on the served base {base.name} (sha256 {base.sha256[:12]})")
    if (card.template.name, card.template.version) != (TEMPLATE_NAME, TEMPLATE_VERSION):
        raise AdapterMismatch(
            f"adapter {adapter_name} was trained with chat template {card.template.name} "
            f"v{card.template.version}; this server renders {TEMPLATE_NAME} v{TEMPLATE_VERSION}")


def job_fingerprint(base_sha256: str, dataset_sha256: str, settings: TrainingSettings) -> str:
    """The same base, data and settings are the same job: resume it, publish it once."""
    payload = json.dumps({"base": base_sha256, "dataset": dataset_sha256,
                          "settings": settings.model_dump(mode="json"),
                          "template": [TEMPLATE_NAME, TEMPLATE_VERSION]}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()

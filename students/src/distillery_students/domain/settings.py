"""A training job's settings: what the model card records as its hyperparameters.

Defaults suit a 0.5B-8B instruct model on one GPU (LoRA r=16 on every linear layer at
2e-4, 3 epochs, 8 examples a step, 2,048 tokens). A very small model learns a new fact
only at a higher rate: SmolLM2-135M needed 1e-3 (and loss on the assistant's tokens only).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TrainingSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    base_model: str = Field(description="A short name (smollm2-135m) or the path of a local checkpoint.")
    lora_rank: int = Field(default=16, ge=1, le=512, description="LoRA rank r.")
    lora_alpha: int = Field(default=32, ge=1, description="LoRA alpha (scale alpha/r).")
    lora_dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: str | list[str] = Field(
        default="all-linear", description="Modules that get LoRA layers: all-linear, or module names.")
    epochs: float = Field(default=3, gt=0, le=100)
    learning_rate: float = Field(default=2e-4, gt=0, lt=1)
    lr_scheduler: str = Field(default="linear", description="A transformers scheduler name.")
    warmup_ratio: float = Field(default=0.0, ge=0, lt=1, description="Share of the steps spent warming up.")
    batch_size: int = Field(default=8, ge=1, description="Examples per optimizer step.")
    micro_batch_size: int = Field(
        default=2, ge=1, description="Examples per forward pass; batch_size / micro_batch_size steps "
        "of gradient accumulation.")
    max_length: int = Field(default=2048, ge=16, description="Tokens an example is cut to.")
    max_steps: int | None = Field(default=None, ge=1, description="Stop after this many steps (overrides epochs).")
    seed: int = Field(default=42)
    checkpoint_every: int = Field(default=50, ge=1, description="Steps between checkpoints (resume points).")
    gradient_checkpointing: bool | None = Field(
        default=None, description="Trade compute for memory; unset: on for a GPU, off on the CPU.")

    @model_validator(mode="after")
    def _micro_batches_fill_a_batch(self) -> TrainingSettings:
        if self.batch_size % min(self.micro_batch_size, self.batch_size):
            raise ValueError(f"batch_size {self.batch_size} is not a multiple of micro_batch_size "
                             f"{self.micro_batch_size}")
        return self

    @property
    def per_device_batch(self) -> int:
        return min(self.micro_batch_size, self.batch_size)

    @property
    def accumulation_steps(self) -> int:
        return self.batch_size // self.per_device_batch

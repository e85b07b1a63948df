"""Loading a base model and its tokenizer onto the best device here (a GPU when present)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillery_students.base_models import BaseModel, offline


@dataclass(frozen=True)
class Device:
    name: str  # "cuda" or "cpu"
    bf16: bool

    @property
    def is_gpu(self) -> bool:
        return self.name == "cuda"


def pick_device() -> Device:
    import torch

    if torch.cuda.is_available():
        return Device("cuda", torch.cuda.is_bf16_supported())
    return Device("cpu", False)


def load_tokenizer(base: BaseModel) -> Any:
    offline()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base.path, local_files_only=True)
    if not getattr(tokenizer, "is_fast", False):
        from distillery_students.errors import StudentError

        raise StudentError(f"base model {base.name} has no fast tokenizer (tokenizer.json): labels need "
                           "character offsets")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(base: BaseModel, device: Device) -> Any:
    offline()
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if device.bf16 else (torch.float16 if device.is_gpu else torch.float32)
    model = AutoModelForCausalLM.from_pretrained(base.path, local_files_only=True, dtype=dtype)
    return model.to(device.name)  # type: ignore[arg-type]

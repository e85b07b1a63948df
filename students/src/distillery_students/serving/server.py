"""Run ``distillery serve``: load the base model and adapters, then answer over HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from distillery_students.base_models import resolve_base_model
from distillery_students.serving.app import create_app
from distillery_students.serving.engine import StudentEngine


def build_engine(base_model: str, adapters: Sequence[tuple[str, Path]] = (), *, served_name: str | None = None,
                 cache_dir: Path | None = None) -> StudentEngine:
    """The engine with its start-up adapters loaded; a refused one is a :class:`StudentError`."""
    engine = StudentEngine(resolve_base_model(base_model, cache_dir), served_name)
    for name, path in adapters:
        engine.load_adapter(name, path)
    return engine


def serve(engine: StudentEngine, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    import uvicorn

    uvicorn.run(create_app(engine), host=host, port=port, log_level=log_level)

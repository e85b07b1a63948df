"""The OpenAI/Azure sandbox as the finetune-controller's integration tests use it.

Lifecycle dates come only from the sandbox, with gpt-4o-mini fine-tunable until 2099, so
the tests do not age; datasets are small real files announced by a DatasetBuilt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.samples import sample_dataset_built
from distillery_sandbox.openai import (
    Faults,
    JobTimings,
    LatencyProfile,
    SandboxConfig,
    default_catalogue,
    with_dates,
)

MINI = "gpt-4o-mini-2024-07-18"
FAR = date(2099, 1, 1)


def sandbox_config(timings: JobTimings, *, retired: Mapping[str, date] | None = None,
                   faults: Faults | None = None) -> SandboxConfig:
    """No added latency; gpt-4o-mini (snapshot and alias) lasts, the ``retired`` models shut down then."""
    lasting = {MINI: FAR, "gpt-4o-mini": FAR}
    models = with_dates(default_catalogue(), shutdown={**lasting, **(retired or {})}, fine_tune_until=lasting)
    return SandboxConfig(timings=timings, latency=LatencyProfile(scale=0), models=models,
                         faults=faults if faults is not None else Faults())


def write_dataset(folder: Path, dataset_id: str, *, broken_line: int | None = None, base_model: str = MINI,
                  epochs: int = 2) -> DatasetBuilt:
    """A 12-line train and 10-line validation file, and the DatasetBuilt announcing them."""
    folder.mkdir(parents=True, exist_ok=True)

    def write(name: str, count: int, broken: int | None = None) -> dict[str, Any]:
        lines = [json.dumps({"messages": [{"role": "user", "content": f"What time do you open? ({name} {n})"},
                                          {"role": "assistant", "content": "We open at 8 am."}]})
                 for n in range(count)]
        if broken is not None:
            lines[broken - 1] = '{"messages": [{"role": "user", "content": "cut off'
        data = ("\n".join(lines) + "\n").encode()
        (folder / name).write_bytes(data)
        return {"uri": (folder / name).as_uri(), "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}

    files = {"train": write("train.jsonl", 12, broken_line), "validation": write("validation.jsonl", 10),
             "manifest": write("manifest.json", 1)}
    return sample_dataset_built(dataset_id=dataset_id, cycle_id="cycle-0042", base_model=base_model, files=files,
                                epochs=epochs)


def remote_jobs(box: Any) -> list[dict[str, Any]]:
    """Every fine-tuning job the sandbox's OpenAI API knows."""
    return httpx.get(f"{box.openai_base_url}/fine_tuning/jobs", params={"limit": 100},
                     headers={"Authorization": "Bearer sk-sandbox"}).json()["data"]

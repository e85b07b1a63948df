"""A training job survives a kill and honours cancel (SmolLM2-135M, a few steps).

Killed after its first checkpoint, `distillery train` run again into the same --out
resumes from that checkpoint and publishes exactly one adapter; a cancel check that says
stop ends the job between steps with nothing published.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from distillery_students.base_models import resolve_base_model
from distillery_students.domain.settings import TrainingSettings
from distillery_students.errors import TrainingCancelled
from distillery_students.samples import teaching_lines
from distillery_students.training import TrainingProgress, train_adapter

pytestmark = pytest.mark.integration

CACHE = Path(tempfile.gettempdir()) / "distillery-model-cache"
FLAGS = ["--learning-rate", "1e-3", "--batch-size", "4", "--micro-batch-size", "4", "--max-length", "128",
         "--max-steps", "4", "--checkpoint-every", "2"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    resolve_base_model("smollm2-135m", CACHE)  # the conversion is not part of what is measured here
    path = tmp_path_factory.mktemp("resume") / "data.jsonl"
    path.write_text("\n".join(teaching_lines(16)) + "\n")
    return path


def test_a_killed_job_resumes_from_its_checkpoint_and_publishes_one_adapter(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "adapter"
    command = [sys.executable, "-m", "distillery_cli", "train", "--data", str(data), "--base-model", "smollm2-135m",
               "--out", str(out), "--model-cache", str(CACHE), *FLAGS]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = tmp_path / ".adapter.work" / "checkpoints" / "checkpoint-2" / "trainer_state.json"
    deadline = time.monotonic() + 240
    while not checkpoint.is_file() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert checkpoint.is_file() and not out.exists()

    again = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert again.returncode == 0, again.stderr
    card = json.loads((out / "model_card.json").read_text())
    assert card["steps"] == 4
    assert [point["step"] for point in card["loss_curve"]] == [1, 2, 3, 4]  # the killed run's steps kept
    assert sorted(p.name for p in out.iterdir()) == ["SHA256SUMS", "adapter_config.json",
                                                    "adapter_model.safetensors", "model_card.json"]
    assert not (tmp_path / ".adapter.work").exists()


def test_cancel_stops_between_steps_and_publishes_nothing(data: Path, tmp_path: Path) -> None:
    seen: list[TrainingProgress] = []
    settings = TrainingSettings(base_model="smollm2-135m", learning_rate=1e-3, batch_size=4, micro_batch_size=4,
                                max_length=128, max_steps=20)
    with pytest.raises(TrainingCancelled, match="cancelled at step 2"):
        train_adapter(data, settings, tmp_path / "adapter", cache_dir=CACHE, on_progress=seen.append,
                      should_cancel=lambda: len(seen) >= 1 and seen[-1].step >= 2)
    assert [p.step for p in seen] == [1, 2]
    assert seen[0].total_steps == 20 and seen[0].tokens_per_second and seen[0].eta_seconds
    assert not (tmp_path / "adapter").exists()

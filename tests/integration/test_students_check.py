"""`distillery train --check`: a training file read as SmolLM2-135M reads it, before any training.

The dataset-builder's token counts are OpenAI's; the student's own tokenizer and the project's
chat template decide what `--max-length` cuts, so the check loads them (the real model's
tokenizer, converted once into the shared model cache) and trains nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from distillery_students.base_models import resolve_base_model
from distillery_students.samples import teaching_lines

pytestmark = pytest.mark.integration

CACHE = Path(tempfile.gettempdir()) / "distillery-model-cache"
LONG_CALL = json.dumps({"messages": [
    {"role": "system", "content": "You answer the phone for the clinic."},
    {"role": "user", "content": "I would like to tell you about my week. " * 60},
    {"role": "assistant", "content": "Thank you, I have noted all of that for the doctor.", "weight": 1},
]})


@pytest.fixture(scope="module")
def model_cache() -> Path:
    resolve_base_model("smollm2-135m", CACHE)  # the conversion is not what is checked here
    return CACHE


def flat(text: str) -> str:
    """``text`` with its runs of white space (a table's padding, a wrapped line) as one space."""
    return " ".join(text.split())


def check(data: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "distillery_cli", "train", "--check", "--data", str(data),
         "--base-model", "smollm2-135m", "--model-cache", str(CACHE), *flags],
        capture_output=True, text=True, timeout=240, cwd=data.parent, env={**os.environ, "COLUMNS": "200"})


def test_a_long_call_whose_answer_the_cut_removes_is_named_and_nothing_is_trained(model_cache: Path,
                                                                                   tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join([*teaching_lines(16), LONG_CALL]) + "\n")

    result = check(data, "--max-length", "256")

    assert result.returncode == 0, result.stderr  # sixteen examples still teach
    out = flat(result.stdout)
    assert "│ examples │ 17 │" in out
    assert "│ longer than max_length │ 1 (line 17) │" in out
    assert "│ cut inside a taught answer │ 0 │" in out
    assert "│ left nothing to learn (skipped) │ 1 (line 17) │" in out
    assert "│ optimizer steps │ 2 per epoch, 6 in all (3 epochs, 8 examples a step) │" in out  # the 16 that fit
    assert "! max_length 256 cuts everything learned from 1 (skipped): max_length 638 keeps every answer whole" in out
    builder = re.search(r"The dataset-builder counts these examples with gpt-4o-mini-2024-07-18's tokenizer; "
                        r"smollm2-135m reads ([\d.]+)-([\d.]+) times as many tokens, so "
                        r"DISTILLERY_DATASET_MAX_EXAMPLE_TOKENS=(\d+) keeps examples like these "
                        r"within max_length 256", out)
    assert builder is not None, out
    lowest, highest, limit = float(builder[1]), float(builder[2]), int(builder[3])
    assert 0 < lowest <= highest
    assert limit < 256 and abs(limit - 256 / highest) < 2  # the printed ratio is rounded
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.jsonl"]  # no adapter, no work directory


def test_a_file_that_cannot_be_trained_on_exits_1_with_what_to_change(model_cache: Path, tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(teaching_lines(4)) + "\n")
    too_short = check(data, "--max-length", "16")
    assert too_short.returncode == 1
    assert "no example keeps a learned token within max_length 16: raise --max-length to at least" in flat(
        too_short.stdout)

    data.write_text("\n".join([*teaching_lines(2), "{not json", '{"messages": []}']) + "\n")
    bad = check(data)
    assert bad.returncode == 1
    assert f"{data} line 3: not JSON" in bad.stderr and f"{data} line 4:" in bad.stderr
    assert "cannot be trained on: 2 bad line(s)" in bad.stderr

"""Files of lines that break JSONL readers, drawn from a seeded generator (hypothesis, when the
project adds it, draws arbitrary bytes instead: test_bad_lines_hypothesis.py)."""

from __future__ import annotations

import json
import random

import pytest
from bad_lines import bad_line, check_clean, check_validate, sample_generation


@pytest.mark.parametrize("seed", range(12))
def test_distillery_clean_finishes_on_any_lines_and_names_each_unreadable_one(seed, tmp_path):
    rng = random.Random(seed)
    lines = [bad_line(rng) if rng.random() < 0.6 else json.dumps(sample_generation(n)).encode()
             for n in range(rng.randrange(1, 12))]
    check_clean(lines, tmp_path)


@pytest.mark.parametrize("seed", range(12))
def test_dataset_validate_finishes_on_any_lines_and_names_each_unreadable_one(seed, tmp_path):
    rng = random.Random(seed)
    check_validate([bad_line(rng) for _ in range(rng.randrange(1, 12))], tmp_path)

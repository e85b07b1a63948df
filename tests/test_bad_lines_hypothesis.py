"""The checks of test_bad_lines.py on lines hypothesis draws: arbitrary bytes, and JSON values
with any text."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import hypothesis
import hypothesis.strategies as st
from bad_lines import check_clean, check_validate

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)
LINES = st.lists(
    st.binary(max_size=200).map(lambda b: b.replace(b"\n", b" "))
    | JSON_VALUES.map(lambda v: json.dumps(v).encode())
    | st.dictionaries(st.sampled_from(["id", "traceId", "type", "startTime", "input", "output", "messages"]),
                      JSON_VALUES, max_size=7).map(lambda d: json.dumps(d).encode()),
    min_size=1, max_size=12)
SETTINGS = hypothesis.settings(max_examples=60, deadline=None,
                               suppress_health_check=[hypothesis.HealthCheck.too_slow])


@SETTINGS
@hypothesis.given(LINES)
def test_distillery_clean_finishes_on_arbitrary_lines(lines):
    with tempfile.TemporaryDirectory() as folder:
        check_clean(lines, Path(folder))


@SETTINGS
@hypothesis.given(LINES)
def test_dataset_validate_finishes_on_arbitrary_lines(lines):
    with tempfile.TemporaryDirectory() as folder:
        check_validate(lines, Path(folder))

"""Fuzzing the golden set file (DISTILLERY_EVALUATOR_GOLDEN_PATH), a file an operator writes:
any bytes, and lines built from a good item with any part replaced. It is read into an
evaluation set or refused as EvalSetError naming the line; nothing else escapes to stop the
evaluator at start-up with a traceback."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import hypothesis
import hypothesis.strategies as st
import pytest

from distillery_evaluator.adapters.sources import golden_from_file
from distillery_evaluator.domain.evalset import EvalSetError

pytestmark = pytest.mark.fuzz
SETTINGS = hypothesis.settings(max_examples=60, deadline=None, derandomize=True,
                               suppress_health_check=[hypothesis.HealthCheck.too_slow])
GOOD = {"id": "g-1", "messages": [{"role": "user", "content": "When are you open?"}],
        "facts": ["open 8-18"], "reference": "We are open from 8 to 18."}
TEXT = st.text(max_size=10) | st.sampled_from(["\ud83d", "a\x00", "user", "assistant", "system"])
SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | TEXT
JSON = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                    max_leaves=10)


def _line(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


LINES = st.lists(st.just(_line(GOOD))
                 | st.dictionaries(st.sampled_from(sorted(GOOD)), JSON, max_size=3).map(lambda d: _line({**GOOD, **d}))
                 | JSON.map(_line) | st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" ")),
                 min_size=0, max_size=6)


def _read(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "golden.jsonl"
        path.write_bytes(data)
        try:
            golden_from_file(path)
        except EvalSetError as refused:
            assert str(refused)


@SETTINGS
@hypothesis.given(LINES)
def test_a_golden_set_file_is_read_or_refused_naming_the_problem(lines):
    _read(b"\n".join(lines))


def test_a_golden_set_file_that_is_not_utf8_found_by_the_fuzzer_is_refused_naming_the_line():
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "golden.jsonl"
        path.write_bytes(_line(GOOD) + b"\n" + b'{"id": "g-2\xff"}\n')
        with pytest.raises(EvalSetError, match="line 2"):
            golden_from_file(path)

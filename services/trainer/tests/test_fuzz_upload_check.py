"""Fuzzing the trainer's upload check, the first reader of a fine-tuning JSONL file: any bytes,
and lines built from a good example with any part replaced. The check always answers (how many
examples, and the first problem named by a line that exists), never raises, and never passes a
file that holds a line no tokenizer or store can read."""

from __future__ import annotations

import json

import hypothesis
import hypothesis.strategies as st
import pytest
from trainer_fixtures import GOOD_LINE

from distillery_runtime.text import UnsafeInput, parse_json_line
from distillery_trainer.services import _check_lines

pytestmark = pytest.mark.fuzz
SETTINGS = hypothesis.settings(max_examples=80, deadline=None, derandomize=True,
                               suppress_health_check=[hypothesis.HealthCheck.too_slow])

TEXT = st.text(max_size=12) | st.sampled_from(["\ud83d", "a\x00b", "\u2028", "system", "assistant", "user"])
SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | TEXT
JSON = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                    max_leaves=10)
MESSAGE = st.fixed_dictionaries({}, optional={"role": TEXT | JSON, "content": TEXT | JSON, "tool_calls": JSON,
                                              "name": JSON, "weight": JSON})


def _line(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


LINES = st.lists(
    st.just(_line(GOOD_LINE))
    | st.fixed_dictionaries({"messages": st.lists(MESSAGE, max_size=4) | JSON},
                            optional={"tools": JSON, "parallel_tool_calls": JSON}).map(_line)
    | JSON.map(_line) | st.binary(max_size=80).map(lambda b: b.replace(b"\n", b" ")),
    min_size=1, max_size=8)


@SETTINGS
@hypothesis.given(LINES)
def test_the_upload_check_answers_every_file_and_names_an_existing_line(lines):
    data = b"\n".join(lines) + b"\n"
    examples, problem = _check_lines("train.jsonl", data)
    if problem is None:
        assert examples >= 1
        for line in data.decode("utf-8").split("\n"):  # nothing unreadable got through
            try:
                parse_json_line(line, max_bytes=None)
            except UnsafeInput as exc:
                assert exc.code == "invalid_json", exc.reason
    else:
        assert examples == 0 and "\n" not in problem
        if problem.startswith("train.jsonl line "):
            number = int(problem.split()[2].rstrip(":"))
            assert 1 <= number <= len(lines) + 1


@SETTINGS
@hypothesis.given(st.binary(max_size=400))
def test_the_upload_check_answers_any_bytes(data):
    examples, problem = _check_lines("train.jsonl", data)
    assert (examples >= 1 and problem is None) or (examples == 0 and problem), (examples, problem)

"""Fuzzing the Langfuse edge: observations and scores as hypothesis draws them, from a real
generation with fields replaced, to any JSON at all. Each either maps to an event every
downstream writer can write (UTF-8 JSON) or is refused as UnmappableObservation with a reason;
nothing else may escape, since the ingester dead-letters only that refusal by name."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import hypothesis
import hypothesis.strategies as st
import pytest

from distillery_trace_ingester.domain.mapping import UnmappableObservation, observation_to_trace
from distillery_trace_ingester.domain.scores import group_by_observation, score_from_langfuse
from distillery_trace_ingester.samples import sample_generation, sample_score

pytestmark = pytest.mark.fuzz
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SETTINGS = hypothesis.settings(max_examples=80, deadline=None, derandomize=True,
                               suppress_health_check=[hypothesis.HealthCheck.too_slow])

TEXT = st.text(max_size=12) | st.sampled_from(["\ud83d", "a\x00b", "\udc00x", "", "2026-03-02T08:00:00Z",
                                               "GENERATION", "NaN", "1e999", "true"])
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**300, max_value=10**400)
           | st.floats(allow_nan=True, allow_infinity=True) | TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(TEXT, inner, max_size=4), max_leaves=15)
GENERATION_FIELDS = list(sample_generation().keys())
SCORE_FIELDS = list(sample_score().keys()) + ["subject", "observation_id", "data_type", "string_value"]


def deep(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


def _mapped_or_refused(observation: object, scores: list) -> None:
    try:
        trace = observation_to_trace(observation, scores, "p", NOW)  # type: ignore[arg-type]
    except UnmappableObservation as refused:
        assert refused.reason and "\n" not in refused.reason
        return
    trace.model_dump_json().encode("utf-8")  # a surrogate here would fail every writer downstream


@SETTINGS
@hypothesis.given(st.dictionaries(st.sampled_from(GENERATION_FIELDS), JSON, max_size=8))
def test_a_real_generation_with_any_fields_replaced_maps_or_is_refused_with_a_reason(changes):
    _mapped_or_refused({**sample_generation(), **changes}, [])


@SETTINGS
@hypothesis.given(JSON)
def test_any_json_as_an_observation_maps_or_is_refused_with_a_reason(observation):
    _mapped_or_refused(observation, [])


@SETTINGS
@hypothesis.given(st.dictionaries(st.sampled_from(SCORE_FIELDS), JSON, max_size=6))
def test_a_real_score_with_any_fields_replaced_maps_or_is_refused_with_a_reason(changes):
    raw = {**sample_score(), **changes}
    try:
        score = score_from_langfuse(raw)
    except UnmappableObservation as refused:
        assert refused.reason
    else:
        score.model_dump_json().encode("utf-8")
    grouped = group_by_observation([raw])  # never raises on a score it cannot attach
    assert all(isinstance(k, str) for k in grouped)


@pytest.mark.parametrize("value", [10**400, -(10**400)], ids=["huge", "huge-negative"])
def test_a_score_value_beyond_a_float_is_refused_not_an_overflow(value):
    with pytest.raises(UnmappableObservation):
        score_from_langfuse({**sample_score(), "value": value, "dataType": "NUMERIC"})


def test_input_nested_deeper_than_any_reader_can_parse_is_refused():
    with pytest.raises(UnmappableObservation):
        observation_to_trace({**sample_generation(), "input": deep(5000)}, [], "p", NOW)


def test_an_observation_with_a_lone_surrogate_everywhere_maps_to_safe_text():
    observation = json.loads(json.dumps(sample_generation()).replace("a", "\\ud83d", 3))
    _mapped_or_refused(observation, [])


@pytest.mark.parametrize("changes", [{"level": []}, {"level": {"x": 1}}, {"promptVersion": float("inf")}],
                         ids=["level-list", "level-object", "prompt-version-infinite"])
def test_fields_of_the_wrong_shape_found_by_the_fuzzer_are_refused_with_a_reason(changes):
    with pytest.raises(UnmappableObservation):
        observation_to_trace({**sample_generation(), **changes}, [], "p", NOW)


EXPORT_LINES = st.lists(
    st.binary(max_size=120).map(lambda b: b.replace(b"\n", b" "))
    | JSON.map(lambda v: json.dumps(v).encode())
    | st.dictionaries(st.sampled_from(GENERATION_FIELDS), JSON, max_size=6).map(
        lambda d: json.dumps({**sample_generation(), **d}).encode()),
    max_size=6)


@SETTINGS
@hypothesis.given(EXPORT_LINES)
def test_an_export_file_s_lines_are_read_reported_by_number_or_refused_never_raised(lines):
    """The file `distillery import` reads: each line is a record (then mapped or refused) or a
    BadLine with its number; no line stops the file."""
    from distillery_trace_ingester.domain.export_rows import read_records

    bad = []
    records = list(read_records(lines, bad.append))
    assert all(1 <= b.line <= len(lines) for b in bad)
    assert len(records) + len(bad) <= len(lines)
    for _, record in records:
        _mapped_or_refused(record, [])

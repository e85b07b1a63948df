"""Scores in every shape Langfuse hands them out, and lines of export files."""

from __future__ import annotations

import pytest

from distillery_contracts.common import ScoreDataType
from distillery_trace_ingester.domain.errors import UnmappableObservation
from distillery_trace_ingester.domain.export_rows import BadLine, read_line
from distillery_trace_ingester.domain.mapping import observation_to_trace
from distillery_trace_ingester.domain.scores import group_by_observation, score_from_langfuse
from distillery_trace_ingester.samples import T0, sample_score


def test_v3_boolean_and_categorical_scores_keep_their_meaning():
    flag = score_from_langfuse(sample_score(dataType="BOOLEAN", value=True))
    label = score_from_langfuse(sample_score(dataType="CATEGORICAL", value="wrong_price"))
    assert (flag.value, flag.string_value, flag.data_type) == (1.0, "True", ScoreDataType.BOOLEAN)
    assert (label.value, label.string_value) == (None, "wrong_price")


def test_an_export_score_in_snake_case_is_read():
    raw = read_line('{"id": "s9", "name": "hallucination", "value": 1.0, "data_type": "NUMERIC", '
                    '"source": "EVAL", "timestamp": "2026-03-02 09:04:00.000000", '
                    '"observation_id": "obs-00001", "trace_id": "trace-00001"}', 1)
    score = score_from_langfuse(raw)
    assert score.value == 1.0 and score.timestamp.tzinfo is not None
    assert group_by_observation([raw]) == {"obs-00001": [raw]}


def test_only_observation_scores_are_grouped_and_each_score_once():
    trace_score = sample_score(score_id="t1", subject={"kind": "trace", "id": "trace-00001"})
    twice = [sample_score(score_id="s1"), sample_score(score_id="s1", value=1.0), trace_score]
    grouped = group_by_observation(twice)
    assert list(grouped) == ["obs-00001"] and [s["value"] for s in grouped["obs-00001"]] == [1.0]


def test_an_unreadable_score_makes_its_generation_unmappable():
    from distillery_trace_ingester.samples import sample_generation

    with pytest.raises(UnmappableObservation, match="score score-1 has an unknown dataType"):
        observation_to_trace(sample_generation(1), [sample_score(dataType="VIBES")], "clinic", T0)


def test_an_export_observation_in_snake_case_maps_like_the_api_shape():
    line = ('{"id": "o1", "trace_id": "t1", "type": "GENERATION", "start_time": "2026-03-02 09:00:00.000000", '
            '"end_time": "2026-03-02 09:00:01.500000", "provided_model_name": "gpt-4.1", '
            '"input": "[{\\"role\\": \\"user\\", \\"content\\": \\"Opening hours?\\"}]", '
            '"output": "{\\"role\\": \\"assistant\\", \\"content\\": \\"9 to 5.\\"}", '
            '"usage_details": {"input": 10, "output": 4}, "session_id": "call-1", "model_parameters": {}}')
    trace = observation_to_trace(read_line(line, 3), [], "clinic", T0)
    assert (trace.model, trace.session_id, trace.latency_ms, trace.usage.total_tokens) == (
        "gpt-4.1", "call-1", 1500.0, 14)


@pytest.mark.parametrize("text, reason", [
    ('{"id": "o1", ', "line 7: not valid JSON"),
    ("[1, 2]", "line 7: not a JSON object"),
    ('{"name": "x"}', "line 7: has no 'id'"),
])
def test_a_bad_export_line_is_reported_with_its_number(text, reason):
    with pytest.raises(BadLine, match=reason):
        read_line(text, 7)


def test_a_blank_export_line_is_skipped():
    assert read_line("   \n", 2) is None

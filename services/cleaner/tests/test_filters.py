"""Each filter rejects what it is for, with its reason code, and lets clean turns through."""

from __future__ import annotations

import pytest
from cleaner_samples import ANSWER, CALL, SYSTEM, score, text_turn, trace

from distillery_cleaner.domain.config import Bounds, CleanerConfig, ScoreRule
from distillery_cleaner.domain.screen import Candidate, Cleaner
from distillery_contracts.examples import RejectReason


def verdict(t, config: CleanerConfig | None = None, late=()):
    return Cleaner(config or CleanerConfig(), "0.1.0").screen(t, late)


def reason(t, config: CleanerConfig | None = None, late=()):
    result = verdict(t, config, late)
    return None if isinstance(result, Candidate) else result.reason


def test_a_clean_tool_calling_turn_becomes_a_candidate():
    assert isinstance(verdict(trace()), Candidate)


def test_error_level_and_failure_status_messages_are_errors():
    assert reason(trace(level="ERROR", output=None)) is RejectReason.ERROR
    failed = verdict(trace(status_message="upstream timeout after 30s"))
    assert failed.reason is RejectReason.ERROR and "timeout" in failed.detail
    assert reason(trace(status_message="502 Bad Gateway from upstream")) is RejectReason.ERROR
    assert reason(trace(finish_reason="content_filter")) is RejectReason.ERROR
    assert isinstance(verdict(trace(status_message="completed")), Candidate)


@pytest.mark.parametrize("output", [None, {"role": "assistant", "content": ""},
                                    {"role": "assistant", "content": "   "}])
def test_a_call_cut_before_the_assistant_answered_is_incomplete(output):
    assert reason(trace(output=output)) is RejectReason.INCOMPLETE


def test_an_output_that_is_not_the_assistants_is_incomplete():
    assert reason(trace(output={"role": "user", "content": "Hello?"})) is RejectReason.INCOMPLETE


def test_output_tokens_at_the_limit_are_truncated():
    cut = verdict(trace(usage={"output_tokens": 256}, finish_reason="stop"))
    assert cut.reason is RejectReason.TRUNCATED
    assert cut.detail == "output_tokens 256 reached max_tokens 256"


def test_a_length_finish_reason_is_truncated_also_when_only_metadata_records_it():
    assert reason(trace(finish_reason="length")) is RejectReason.TRUNCATED
    assert reason(trace(finish_reason=None, metadata={"finish_reason": "length"})) is RejectReason.TRUNCATED


def test_a_text_answer_stopping_mid_sentence_is_truncated_but_a_tool_call_never_is():
    cut = text_turn(1, "How much is a check-up?", "A check-up costs €65 and takes", session="c1")
    assert reason(cut) is RejectReason.TRUNCATED
    assert reason(cut, CleanerConfig(mid_sentence_truncation=False)) is None
    assert isinstance(verdict(trace(output=ANSWER)), Candidate)


def test_only_the_teachers_outputs_become_labels():
    assert reason(trace(model="gpt-4o-mini")) is RejectReason.NOT_TEACHER
    assert reason(trace(model="gpt-4.1-mini")) is RejectReason.NOT_TEACHER
    assert reason(trace(model="ft:gpt-4.1-2025-04-14:clinic::abc")) is RejectReason.NOT_TEACHER
    assert reason(trace(model=None)) is RejectReason.NOT_TEACHER
    assert reason(trace(model="gpt-4.1")) is None
    assert reason(trace(model="clinic-gpt41"), CleanerConfig(teacher_models=("clinic-gpt41",))) is None


def test_a_hallucination_score_over_its_threshold_rejects_the_generation():
    flagged = verdict(trace(scores=[score(1.0)]))
    assert flagged.reason is RejectReason.HALLUCINATION and "'hallucination' = 1.0" in flagged.detail
    assert reason(trace(scores=[score(0.0)])) is None
    assert reason(trace(scores=[score(0.9, name="helpfulness")])) is None


def test_late_scores_are_read_like_the_traces_own_scores():
    assert reason(trace(), late=[score(0.8)]) is RejectReason.HALLUCINATION


def test_boolean_and_categorical_scores_flag_with_their_own_rules():
    boolean = score(1.0, data_type="BOOLEAN", string_value="True")
    categorical = score(name="faithfulness", string_value="Hallucinated", data_type="CATEGORICAL")
    categorical = categorical.model_copy(update={"value": None})
    config = CleanerConfig(hallucination_scores=(ScoreRule(name="hallucination"),
                                                 ScoreRule(name="faithfulness")))
    assert reason(trace(scores=[boolean]), config) is RejectReason.HALLUCINATION
    assert reason(trace(scores=[categorical]), config) is RejectReason.HALLUCINATION


def test_turn_character_and_token_bounds():
    assert reason(trace(), CleanerConfig(bounds=Bounds(max_user_turns=1))) is RejectReason.TOO_MANY_TURNS
    assert reason(trace(), CleanerConfig(bounds=Bounds(min_user_turns=3))) is RejectReason.TOO_FEW_TURNS
    assert reason(trace(), CleanerConfig(bounds=Bounds(max_characters=200))) is RejectReason.TOO_LONG
    too_many = verdict(trace(), CleanerConfig(bounds=Bounds(max_tokens=50)))
    assert too_many.reason is RejectReason.TOO_MANY_TOKENS and "gpt-4o-mini" in too_many.detail


def test_non_text_and_empty_messages_are_rejected():
    image = {"role": "user", "content": [{"type": "text", "text": "Is this rash serious?"},
                                         {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}
    rejected = verdict(trace(messages=[*CALL, image]))
    assert rejected.reason is RejectReason.NON_TEXT_CONTENT and "image_url" in rejected.detail
    silent = verdict(trace(messages=[*CALL, {"role": "user", "content": "  "}]))
    assert silent.reason is RejectReason.EMPTY_CONTENT and silent.detail == "message 7 (user) has no text"


def test_unanswered_tool_calls_are_incomplete_and_broken_structure_unmappable():
    unanswered = verdict(trace(messages=CALL[:3] + [{"role": "user", "content": "Hello?"}]))
    assert unanswered.reason is RejectReason.INCOMPLETE
    orphan = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Hi"},
              {"role": "tool", "tool_call_id": "call_x", "content": "{}"}]
    assert reason(trace(messages=orphan)) is RejectReason.UNMAPPABLE
    late_system = [*CALL, {"role": "system", "content": "Be terse."}]
    assert reason(trace(messages=late_system)) is RejectReason.UNMAPPABLE


def test_an_answer_calling_an_undeclared_tool_or_with_broken_arguments_is_an_error():
    undeclared = {"role": "assistant", "tool_calls": [{"id": "c9", "type": "function",
                                                       "function": {"name": "cancel_all", "arguments": "{}"}}]}
    broken = {"role": "assistant", "tool_calls": [{"id": "c9", "type": "function",
                                                   "function": {"name": "book_appointment", "arguments": "{\"slot"}}]}
    assert reason(trace(output=undeclared, finish_reason="tool_calls")) is RejectReason.ERROR
    assert reason(trace(output=broken, finish_reason="tool_calls")) is RejectReason.ERROR


def test_pii_drops_the_example_when_configured_to():
    dropped = verdict(trace(), CleanerConfig(pii={"action": "drop", "allow": ["+353 1 555 0142", "Dr. Aoife Brennan"]}))
    assert dropped.reason is RejectReason.PII
    assert dropped.detail == "personal data found: PHONE×2"
    assert "087" not in dropped.detail


def test_rejections_name_the_first_failing_filter():
    both = trace(level="ERROR", output=None, model="gpt-4o-mini")
    assert reason(both) is RejectReason.ERROR

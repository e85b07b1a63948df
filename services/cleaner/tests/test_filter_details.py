"""Each quality filter alone: the reason and the detail a rejection records, and every bound at
its edge. The details are what an operator reads in `distillery clean` reports and dead letters,
so they must say which field and which limit, in the same words every time."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from cleaner_samples import ANSWER, CALL, SYSTEM, TEACHER, score, text_turn, trace

from distillery_cleaner.domain.config import Bounds, CleanerConfig, ScoreRule
from distillery_cleaner.domain.filters import (
    check_bounds,
    check_error,
    check_hallucination,
    check_incomplete,
    check_structure,
    check_teacher,
    check_tokens,
    check_truncated,
    is_teacher,
)
from distillery_cleaner.domain.normalise import Example, build_example
from distillery_cleaner.domain.screen import Cleaner
from distillery_cleaner.domain.verdicts import Rejection
from distillery_contracts.examples import RejectReason

CONFIG = CleanerConfig()


def test_a_failed_call_says_how_it_failed():
    assert check_error(trace(level="ERROR"), CONFIG) == Rejection(RejectReason.ERROR, "observation level is ERROR")
    assert check_error(trace(status_message="Upstream TIMEOUT after 30s"), CONFIG) == Rejection(
        RejectReason.ERROR, "status message reports a failure ('timeout')")
    assert check_error(trace(finish_reason="content_filter"), CONFIG) == Rejection(
        RejectReason.ERROR, "the provider's content filter stopped the output")
    assert check_error(trace(finish_reason=None, metadata={"finish_reason": "content_filter"}), CONFIG) is not None
    assert check_error(trace(finish_reason=None, metadata={"stop_reason": ""}), CONFIG) is None


def test_an_answer_missing_or_empty_says_which():
    assert check_incomplete(trace(messages=[]), CONFIG) == Rejection(
        RejectReason.INCOMPLETE, "the request has no messages")
    assert check_incomplete(trace(output=None), CONFIG) == Rejection(
        RejectReason.INCOMPLETE, "no assistant output: the call ended before the answer")
    assert check_incomplete(trace(output={"role": "assistant", "content": "  "}), CONFIG) == Rejection(
        RejectReason.INCOMPLETE, "the assistant output is empty")


def test_a_truncated_answer_says_by_what():
    cut = text_turn(1, "When is Dr. Okafor free?", "Dr. Okafor is free on Tuesday at", session="s")
    assert check_truncated(cut, CONFIG) == Rejection(RejectReason.TRUNCATED, "the answer stops mid-sentence")
    assert check_truncated(cut, CONFIG.model_copy(update={"mid_sentence_truncation": False})) is None
    capped = trace(usage={"input_tokens": 9, "output_tokens": 256, "total_tokens": 265})
    assert check_truncated(capped, CONFIG) == Rejection(RejectReason.TRUNCATED, "output_tokens 256 reached max_tokens 256")
    assert check_truncated(trace(usage={"input_tokens": 9, "output_tokens": 255, "total_tokens": 264}), CONFIG) is None


@pytest.mark.parametrize(("extra", "truncated"), [
    ({"max_completion_tokens": 40}, True),
    ({"max_output_tokens": 40}, True),
    ({"max_completion_tokens": 41}, False),
    ({"max_completion_tokens": 0}, False),  # zero means "no limit", never "cut at once"
    ({"max_completion_tokens": True}, False),  # a flag is not a limit
    ({"max_completion_tokens": "40"}, False),
])
def test_token_limits_under_other_names_count_only_as_positive_whole_numbers(extra, truncated):
    t = trace(model_parameters={"max_tokens": None, "extra": extra})
    rejection = check_truncated(t, CONFIG)
    assert (rejection is not None) is truncated
    if truncated:
        (name, limit), = extra.items()
        assert rejection.detail == f"output_tokens 40 reached {name} {limit}"


def test_a_limit_of_one_token_is_a_limit():
    t = trace(model_parameters={"max_tokens": None, "extra": {"max_completion_tokens": 1}},
              usage={"input_tokens": 9, "output_tokens": 1, "total_tokens": 10})
    assert check_truncated(t, CONFIG).detail == "output_tokens 1 reached max_completion_tokens 1"


def test_a_generation_not_by_a_teacher_names_the_model_and_the_teachers():
    assert check_teacher(trace(model=""), CONFIG) == Rejection(RejectReason.NOT_TEACHER,
                                                                "the generation records no model")
    config = CleanerConfig(teacher_models=("gpt-4.1", "gpt-4o"))
    long_name = "ft:gpt-4o-mini:" + "x" * 100
    assert check_teacher(trace(model=long_name), config) == Rejection(
        RejectReason.NOT_TEACHER, f"model {long_name[:80]!r} is not a teacher (gpt-4.1, gpt-4o)")
    assert check_teacher(trace(model=" GPT-4.1 "), config) is None
    assert is_teacher(TEACHER.upper(), ("gpt-4.1",))


def test_hallucination_scores_flag_strictly_above_their_threshold():
    rule = ScoreRule(name="hallucination", threshold=0.5)
    assert check_hallucination([score(0.5)], [rule]) is None
    assert check_hallucination([score(0.75)], [rule]) == Rejection(
        RejectReason.HALLUCINATION, "score 'hallucination' = 0.75 (EVAL) over 0.5")


def test_label_scores_flag_only_listed_labels_and_never_an_empty_one():
    rule = ScoreRule(name="verdict", threshold=0.5, flagged_labels=("Hallucinated",))
    labelled = score(name="verdict", value=None, data_type="CATEGORICAL", string_value=" HALLUCINATED ")
    assert check_hallucination([labelled], [rule]) == Rejection(
        RejectReason.HALLUCINATION, "score 'verdict' =  HALLUCINATED  (EVAL) over 0.5")
    for label in ("", None, "fine"):
        other = score(name="verdict", value=None, data_type="CATEGORICAL", string_value=label)
        assert check_hallucination([other], [rule]) is None
    empty_rule = ScoreRule(name="verdict", flagged_labels=("",))
    blank = score(name="verdict", value=None, data_type="CATEGORICAL", string_value="")
    assert check_hallucination([blank], [empty_rule]) is None


def test_a_numeric_score_without_a_value_is_read_by_its_label():
    rule = ScoreRule(name="hallucination", threshold=0.5)
    no_value = score(value=None, data_type="NUMERIC", string_value="yes")
    assert check_hallucination([no_value], [rule]) is not None


BOUNDS = Bounds(min_user_turns=2, max_user_turns=4, max_characters=100, max_tokens=50)


def example(user_turns: int, characters: int = 10) -> SimpleNamespace:
    return SimpleNamespace(user_turns=user_turns, characters=characters)


def test_turn_and_character_bounds_are_inclusive_and_say_the_limit():
    assert check_bounds(example(2), BOUNDS) is None and check_bounds(example(4, 100), BOUNDS) is None
    assert check_bounds(example(1), BOUNDS) == Rejection(RejectReason.TOO_FEW_TURNS, "1 user turn(s), fewer than 2")
    assert check_bounds(example(5), BOUNDS) == Rejection(RejectReason.TOO_MANY_TURNS, "5 user turns, more than 4")
    assert check_bounds(example(3, 1_234), Bounds(max_characters=1_233)) == Rejection(
        RejectReason.TOO_LONG, "1,234 characters, more than 1,233")


def test_the_token_bound_is_inclusive_and_names_the_model():
    assert check_tokens(50, BOUNDS, "gpt-4o-mini") is None
    assert check_tokens(1_051, Bounds(max_tokens=1_050), "gpt-4o-mini") == Rejection(
        RejectReason.TOO_MANY_TOKENS, "1,051 tokens on gpt-4o-mini, more than 1,050")


def test_the_other_incomplete_and_truncated_details_name_the_role_and_the_finish_reason():
    assert check_incomplete(trace(output={"role": "user", "content": "hello?"}), CONFIG) == Rejection(
        RejectReason.INCOMPLETE, "the output is a user message, not the assistant's")
    assert check_truncated(trace(finish_reason="LENGTH"), CONFIG) == Rejection(
        RejectReason.TRUNCATED, "finish reason is 'length'")


def test_a_finish_reason_in_metadata_counts_only_as_text():
    assert check_error(trace(finish_reason=None, metadata={"finish_reason": 5}), CONFIG) is None


def test_a_custom_failure_pattern_names_the_whole_match_with_or_without_groups():
    plain = CONFIG.model_copy(update={"error_status_pattern": r"quota exceeded"})
    assert check_error(trace(status_message="Daily QUOTA EXCEEDED for project"), plain) == Rejection(
        RejectReason.ERROR, "status message reports a failure ('quota exceeded')")
    grouped = CONFIG.model_copy(update={"error_status_pattern": r"http (5\d\d)"})
    assert check_error(trace(status_message="HTTP 503 from upstream"), grouped).detail == \
        "status message reports a failure ('http 503')"


def test_a_fine_tuned_teacher_is_a_teacher_under_its_own_name_in_any_case():
    own = "ft:gpt-4o-mini-2024-07-18:liffey::b7Qx2"
    assert is_teacher(own, (own,))
    assert is_teacher(" FT:GPT-4O-MINI-2024-07-18:LIFFEY::B7QX2 ", (own,))
    assert not is_teacher("ft:gpt-4o-mini-2024-07-18:liffey::other", (own,))  # another fine-tune of its base


@pytest.mark.parametrize("listed", ["xxxx", "none", "null", "n/a"])
def test_a_score_without_a_label_matches_no_listed_label(listed):
    rule = ScoreRule(name="verdict", flagged_labels=(listed, listed.upper()))
    for label in (None, ""):
        unlabelled = score(name="verdict", value=None, data_type="CATEGORICAL", string_value=label)
        assert check_hallucination([unlabelled], [rule]) is None
    assert check_hallucination([score(name="verdict", value=None, data_type="CATEGORICAL", string_value=listed)],
                               [rule]) is not None


# check_structure reads the normalised example: messages as the cleaner rebuilt them, numbered
# from 1 in the order the fine-tuning line lists them (the answer last).
STRUCTURE = Cleaner(CONFIG, "0.1.0")


def normalised(messages: list[dict], output: dict | None = None) -> Example:
    example = build_example(trace(messages=messages, output=output or {"role": "assistant", "content": "Done."}),
                            STRUCTURE.messages)
    assert isinstance(example, Example), example
    return example


def calls(*names: str, arguments: str = "{}") -> dict:
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": f"c{n}", "type": "function", "function": {"name": name, "arguments": arguments}}
        for n, name in enumerate(names, start=1)]}


def answer(call_id: str) -> dict:
    return {"role": "tool", "tool_call_id": call_id, "content": "{}"}


SYS = {"role": "system", "content": SYSTEM}
HI = {"role": "user", "content": "Hi, is Tuesday free?"}


def test_a_well_formed_call_passes_the_structure_check():
    assert check_structure(normalised(CALL, ANSWER)) is None
    assert check_structure(normalised([SYS, HI, calls("check_availability", "check_availability"),
                                       answer("c2"), answer("c1")])) is None


def test_a_system_message_after_the_first_is_unmappable_and_named_by_its_number():
    assert check_structure(normalised([HI, SYS])) == Rejection(
        RejectReason.UNMAPPABLE, "message 2 is a system message after the first")
    assert check_structure(normalised([SYS, HI, {"role": "developer", "content": "Be terse."}])) == Rejection(
        RejectReason.UNMAPPABLE, "message 3 is a system message after the first")


def test_a_tool_result_answering_no_pending_call_is_unmappable():
    assert check_structure(normalised([SYS, HI, answer("call_x")])) == Rejection(
        RejectReason.UNMAPPABLE, "message 3 (tool) answers no pending tool call")
    twice = [SYS, HI, calls("check_availability"), answer("c1"), answer("c1")]
    assert check_structure(normalised(twice)) == Rejection(
        RejectReason.UNMAPPABLE, "message 5 (tool) answers no pending tool call")


def test_tool_calls_left_without_results_are_incomplete_and_counted():
    one_missing = [SYS, HI, calls("check_availability", "book_appointment"), answer("c2"), HI]
    assert check_structure(normalised(one_missing)) == Rejection(
        RejectReason.INCOMPLETE, "1 tool call(s) before message 5 have no result")
    assert check_structure(normalised([SYS, HI, calls("check_availability", "book_appointment")])) == Rejection(
        RejectReason.INCOMPLETE, "2 tool call(s) before message 4 have no result")


def test_an_undeclared_tool_is_named_with_its_position_in_the_message():
    earlier = [SYS, HI, calls("check_availability", "cancel_all"), answer("c1"), answer("c2")]
    assert check_structure(normalised(earlier)) == Rejection(
        RejectReason.UNMAPPABLE, "message 3: tool call 2 calls 'cancel_all', which the request did not declare")
    in_the_answer = normalised([SYS, HI], calls("cancel_all", "check_availability"))
    assert check_structure(in_the_answer) == Rejection(
        RejectReason.ERROR, "message 3: tool call 1 calls 'cancel_all', which the request did not declare")


def test_a_long_undeclared_tool_name_is_cut_at_sixty_characters():
    name = "lookup_" + "x" * 53 + "_TAIL"
    rejection = check_structure(normalised([SYS, HI], calls(name)))
    assert rejection.detail == f"message 3: tool call 1 calls {name[:60]!r}, which the request did not declare"
    assert "TAIL" not in rejection.detail and name[:60] in rejection.detail


def test_a_broken_call_before_the_answer_is_unmappable_in_the_answer_an_error():
    broken = calls("book_appointment", arguments="{\"slot")
    assert check_structure(normalised([SYS, HI, broken, answer("c1"), HI])) == Rejection(
        RejectReason.UNMAPPABLE, "message 3: tool call 1 arguments are not valid JSON")
    assert check_structure(normalised([SYS, HI], broken)) == Rejection(
        RejectReason.ERROR, "message 3: tool call 1 arguments are not valid JSON")

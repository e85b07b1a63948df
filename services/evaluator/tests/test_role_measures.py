"""The figures the offline gates read about one model, at their edges: rates over what was
judged, percentiles of what answered, costs of what was priced, bounds that need evidence."""

from __future__ import annotations

import numpy as np
import pytest

from distillery_evaluator.domain.metrics import hallucination_flags, role_stats
from distillery_evaluator.domain.results import DETERMINISTIC, EMBEDDING, JUDGE, LLM_HALLUCINATION, Answer, ItemScore, Usage
from distillery_evaluator.domain.stats import lower_bound, percentile, wilson
from distillery_runtime.stats import wilson as runtime_wilson


def answer(n: int, latency: float | None = None, error: str | None = None, tokens: int | None = None) -> Answer:
    return Answer(item_id=f"it-{n}", role="candidate", model="clinic-v3", text=None if error else "ok",
                  latency_ms=latency, usage=Usage(input_tokens=tokens) if tokens is not None else None, error=error)


def score(n: int, scorer: str, value: float | None) -> ItemScore:
    return ItemScore(item_id=f"it-{n}", role="candidate", scorer=scorer, value=value)


def test_an_item_is_flagged_when_any_hallucination_scorer_gave_it_half_or_more():
    flags = hallucination_flags([
        score(1, DETERMINISTIC, 0.0), score(1, LLM_HALLUCINATION, 0.5),  # either scorer flags it
        score(2, LLM_HALLUCINATION, 0.49), score(3, DETERMINISTIC, None),  # no verdict: not counted
        score(4, JUDGE, 1.0), score(5, DETERMINISTIC, 1.0), score(5, LLM_HALLUCINATION, 0.0),
    ])
    assert flags == {"it-1": True, "it-2": False, "it-5": True}


def test_a_models_figures_count_what_each_is_over():
    answers = [answer(1, 100.0, tokens=1_000), answer(2, 300.0, tokens=3_000), answer(3, 200.0),
               answer(4, None, tokens=500), answer(5, error="timeout", tokens=9_000)]
    scores = [score(1, DETERMINISTIC, 1.0), score(2, DETERMINISTIC, 0.0), score(3, DETERMINISTIC, 0.0),
              score(1, JUDGE, 1.0), score(2, JUDGE, 0.0), score(3, JUDGE, -0.5), score(4, JUDGE, 0.25),
              score(5, JUDGE, None), score(1, EMBEDDING, 0.5), score(2, EMBEDDING, 1.0)]
    priced = {1_000: 0.001, 3_000: 0.003}  # the 500-token call has no known price

    stats = role_stats("candidate", "clinic-v3", answers, scores,
                       lambda model, usage: priced.get(usage.input_tokens) if model == "clinic-v3" else None,
                       confidence=0.9)
    m = stats.metrics
    interval = runtime_wilson(1, 3, 0.9)
    assert (m.n, m.hallucination_rate, m.hallucination_ci_low, m.hallucination_ci_high) == (
        5, 1 / 3, interval.low, interval.high)
    assert (m.win_rate, m.tie_rate, m.loss_rate) == (0.5, 0.25, 0.25)
    assert m.similarity_mean == 0.75 and m.error_rate == 0.2
    assert (m.latency_p50_ms, m.latency_p95_ms) == (200.0, pytest.approx(290.0))  # of the three timed answers
    assert m.cost_per_call_usd == pytest.approx(0.002)
    assert stats.preferences == [1.0, 0.0, -0.5, 0.25] and stats.similarities == [0.5, 1.0]


def test_a_model_with_nothing_judged_or_timed_has_no_figure_rather_than_zero():
    m = role_stats("candidate", "clinic-v3", [], [], lambda model, usage: None).metrics
    assert (m.n, m.hallucination_rate, m.hallucination_ci_low, m.win_rate, m.loss_rate, m.tie_rate) == (
        0, None, None, None, None, None)
    assert (m.similarity_mean, m.latency_p50_ms, m.latency_p95_ms, m.error_rate, m.cost_per_call_usd) == (
        None, None, None, None, None)


def test_a_similarity_outside_minus_one_to_one_is_clamped():
    scores = [score(1, EMBEDDING, 1.5), score(2, EMBEDDING, 1.5)]
    assert role_stats("c", "m", [], scores, lambda *a: None).metrics.similarity_mean == 1.0
    scores = [score(1, EMBEDDING, -1.5)]
    assert role_stats("c", "m", [], scores, lambda *a: None).metrics.similarity_mean == -1.0


def test_percentiles_are_numpys_linear_ones_and_a_proportion_without_trials_has_no_bounds():
    values = [float(v) for v in (5, 1, 9, 3, 7, 2)]
    for q in (0, 25, 50, 95, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([], 50) is None
    assert wilson(0, 0) == type(wilson(0, 0))(0, 0, None, None)
    assert (wilson(3, 10, 0.8).low, wilson(3, 10, 0.8).high) == (runtime_wilson(3, 10, 0.8).low,
                                                                 runtime_wilson(3, 10, 0.8).high)


def test_a_mean_needs_two_values_for_a_lower_bound_at_the_confidence_asked():
    from scipy import stats

    one = lower_bound([0.4])
    assert (one.mean, one.lower, one.n) == (0.4, None, 1)
    flat = lower_bound([0.2, 0.2, 0.2])
    assert (flat.mean, flat.lower, flat.n) == (pytest.approx(0.2), pytest.approx(0.2), 3)
    values = [0.5, -0.25, 1.0, 0.0]
    spread = float(np.std(values, ddof=1)) / 2
    for confidence in (0.9, 0.95):
        bound = lower_bound(values, confidence)
        t = float(stats.t.ppf(confidence, df=3))
        assert (bound.mean, bound.lower, bound.n) == (pytest.approx(0.3125), pytest.approx(0.3125 - t * spread), 4)
    two = lower_bound([0.0, 1.0])
    assert two.lower == pytest.approx(0.5 - float(stats.t.ppf(0.95, df=1)) * 0.5)


def test_a_judge_reads_the_conversation_without_its_system_prompt_and_with_the_tools_called():
    from distillery_evaluator.domain.judging import HALLUCINATION_SYSTEM, PAIRWISE_SYSTEM, hallucination_prompt, \
        pairwise_prompt, render_conversation

    messages = [
        {"role": "system", "content": "You are the clinic's assistant."},
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Can I book"}, {"type": "input_audio"},
                                     {"type": "text", "text": "Friday?"}, "not a part"]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"function": {"name": "check_slots", "arguments": '{"day": "Fri"}'}},
            {"function": {"name": "hold", "arguments": "{}"}}, {"id": "call-3"}]},
        {"role": "tool", "content": '{"slots": ["09:30"]}'},
        {"content": "a line with no role"},
        {"role": "assistant", "content": ""},
    ]
    conversation = ('user: Can I book Friday?\n'
                    'assistant: [calls check_slots({"day": "Fri"})] [calls hold({})] [calls None(None)]\n'
                    'tool: {"slots": ["09:30"]}\n'
                    '?: a line with no role\n'
                    'assistant:')
    assert render_conversation(messages) == conversation
    assert pairwise_prompt(messages, "", "Yes.", "No.") == [
        {"role": "system", "content": PAIRWISE_SYSTEM},
        {"role": "user", "content": f"Reference facts:\n(none given)\n\nConversation:\n{conversation}\n\n"
                                    "Answer A:\nYes.\n\nAnswer B:\nNo."}]
    assert hallucination_prompt(messages, "Open 9 to 5.", "Yes, at 09:30.") == [
        {"role": "system", "content": HALLUCINATION_SYSTEM},
        {"role": "user", "content": f"Reference:\nOpen 9 to 5.\n\nConversation:\n{conversation}\n\n"
                                    "Answer to check:\nYes, at 09:30."}]
    assert hallucination_prompt([], "", "x")[1]["content"].startswith("Reference:\n(none given)\n\n")


def test_a_judges_reply_is_read_from_its_json_or_refused_saying_why():
    from distillery_evaluator.domain.judging import PairwiseVerdict, VerdictError, parse_hallucination, \
        parse_pairwise

    assert parse_pairwise('Sure.\n{"winner": " tie ", "reason": "both fine"}\nThanks') == PairwiseVerdict(
        "tie", "both fine")
    assert parse_pairwise('{"winner": "b"}') == PairwiseVerdict("B", "")
    assert parse_hallucination('{"hallucinated": true, "claims": ["a price", 3]}') == (True, ["a price", "3"])
    assert parse_hallucination('{"hallucinated": false, "claims": "one"}') == (False, ["one"])
    assert parse_hallucination('{"hallucinated": false}') == (False, [])
    assert parse_hallucination('{\n"hallucinated": true,\n"claims": []\n}') == (True, [])
    long_reply = "x" * 200
    for reply, message in [
        (long_reply, f"no JSON object in the judge's reply: {'x' * 120!r}"),
        ("{" + "x" * 200 + "}", "judge reply is not valid JSON (Expecting property name enclosed in double quotes): "
                                f"{('{' + 'x' * 200)[:120]!r}"),
        ('{"winner": "C"}', "judge named no winner (A, B or tie): '{\"winner\": \"C\"}'"),
        ('{"reason": "none"}', "judge named no winner (A, B or tie): '{\"reason\": \"none\"}'"),
    ]:
        with pytest.raises(VerdictError) as refused:
            parse_pairwise(reply)
        assert str(refused.value) == message
    with pytest.raises(VerdictError, match=r"^judge gave no true/false 'hallucinated': '\{\"hallucinated\": \"yes\"\}'$"):
        parse_hallucination('{"hallucinated": "yes"}')
    long_claim = '{"hallucinated": "' + "y" * 200 + '"}'
    with pytest.raises(VerdictError) as refused:
        parse_hallucination(long_claim)
    assert str(refused.value) == f"judge gave no true/false 'hallucinated': {long_claim[:120]!r}"
    long_winner = '{"winner": "' + "C" * 200 + '"}'
    with pytest.raises(VerdictError) as refused:
        parse_pairwise(long_winner)
    assert str(refused.value) == f"judge named no winner (A, B or tie): {long_winner[:120]!r}"
    with pytest.raises(VerdictError, match="^no JSON object in the judge's reply: ''$"):
        parse_hallucination(None)

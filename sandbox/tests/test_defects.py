"""Injected defects on about 25,000 generations: rates, and what each one looks like.

Tolerance: every measured rate must be within 4 standard errors of the configured rate
(binomial, on its own denominator), plus 0.01 for pii, which a call cut before the
planned turn never gets to speak.
"""

import math
import re
from difflib import SequenceMatcher

import pytest
from distillery_sandbox.workload import (
    MODEL_PRICES_PER_MILLION,
    classify_intent,
    default_knowledge_base,
    extract_slots,
)
from stdnum import iban, luhn

KB = default_knowledge_base()


def within_tolerance(count: int, total: int, rate: float, slack: float = 0.0) -> None:
    standard_error = math.sqrt(rate * (1 - rate) / total)
    measured = count / total
    assert abs(measured - rate) <= 4 * standard_error + slack, (
        f"measured {measured:.4f} over {total}, configured {rate}"
    )


@pytest.fixture(scope="module")
def sample(large_sample):
    config, calls = large_sample
    generations = [g for call in calls for g in call.generations]
    return config, calls, generations


def is_text_answer(generation) -> bool:
    return not generation.expected_output.get("tool_calls")


def test_the_sample_holds_about_25000_generations(sample):
    _, _, generations = sample
    assert len(generations) >= 25_000


def test_per_generation_defect_rates_match_the_configuration(sample):
    config, _, generations = sample
    rates = config.defects
    text = [g for g in generations if is_text_answer(g)]
    for name, population in (("cut", generations), ("error", generations),
                             ("other_model", generations), ("truncated", text),
                             ("hallucination", text)):
        count = sum(name in g.defects for g in population)
        within_tolerance(count, len(population), getattr(rates, name))


def test_per_call_defect_rates_match_the_configuration(sample):
    config, calls, _ = sample
    duplicates = [c for c in calls if c.duplicate_of]
    within_tolerance(len(duplicates), len(calls), config.defects.near_duplicate)
    originals = [c for c in calls if not c.duplicate_of]
    with_pii = [c for c in originals if c.pii]
    within_tolerance(len(with_pii), len(originals), config.defects.pii, slack=0.01)
    assert all("pii" in c.defects for c in with_pii)
    assert not any(c.pii or "pii" in c.defects for c in duplicates)


def test_a_cut_call_ends_on_an_empty_or_missing_output(sample):
    _, calls, _ = sample
    for call in calls:
        for g in call.generations:
            if "cut" in g.defects:
                assert g.output is None or g.output["content"] == ""
                assert g is call.generations[-1]


def test_a_truncated_answer_stops_mid_sentence_at_max_tokens(sample):
    config, _, generations = sample
    truncated = [g for g in generations if "truncated" in g.defects]
    for g in truncated:
        text = g.output["content"]
        assert g.metadata["finish_reason"] == "length"
        assert g.usage.output_tokens == config.max_tokens
        assert not text.endswith((".", "!", "?"))
        assert g.expected_output["content"].startswith(text)


def test_an_error_generation_has_no_output_and_is_retried(sample):
    _, calls, _ = sample
    retried = 0
    for call in calls:
        for g, after in zip(call.generations, call.generations[1:] + (None,)):
            if "error" not in g.defects:
                continue
            assert (g.level, g.output, g.usage) == ("ERROR", None, None)
            assert g.status_message and g.time_to_first_token is None
            if after is not None:
                assert after.messages == g.messages
                retried += 1
    assert retried > 0


def test_a_hallucinated_answer_states_a_wrong_fact_and_is_flagged(sample):
    config, _, generations = sample
    kb = config.knowledge_base
    true_prices = {f"€{s.price_eur}" for s in kb.services} | {"€25"}
    for g in generations:
        flags = [s.value for s in g.scores if s.name == "hallucination"]
        if "hallucination" not in g.defects:
            assert 1.0 not in flags
            continue
        assert flags == [1.0]
        assert g.output["content"] != g.expected_output["content"]
        assert g.hallucination.wrong in g.output["content"]
        if g.hallucination.kind == "price":
            assert g.hallucination.wrong not in true_prices


def test_clean_answers_get_some_zero_hallucination_scores(sample):
    _, _, generations = sample
    clean = [g for g in generations if not g.defects and is_text_answer(g)]
    scored = [g for g in clean if any(s.value == 0.0 for s in g.scores)]
    assert 0.15 < len(scored) / len(clean) < 0.35


def test_spoken_personal_data_is_valid_and_appears_in_what_the_caller_said(sample):
    _, calls, _ = sample
    kinds = set()
    for call in (c for c in calls if c.pii):
        item = call.pii[0]
        kinds.add(item.kind)
        said = " ".join(m["content"] for m in call.generations[-1].messages if m["role"] == "user")
        assert item.value in said
        if item.kind == "card":
            assert luhn.is_valid(item.value.replace(" ", ""))
        if item.kind == "iban":
            assert iban.is_valid(item.value)
    assert kinds == {"phone", "email", "card", "iban"}


def test_calls_without_pii_contain_no_email_card_or_iban(sample):
    _, calls, _ = sample
    pattern = re.compile(r"@|\b\d{4} \d{4} \d{4} \d{4}\b|\bIE\d\d [A-Z]{4}")
    for call in (c for c in calls if not c.pii):
        said = " ".join(m["content"] for m in call.generations[-1].messages if m["role"] == "user")
        assert not pattern.search(said)


def test_a_near_duplicate_repeats_its_original_with_tiny_wording_changes(sample):
    _, calls, _ = sample
    by_id = {c.call_id: c for c in calls}

    def caller_lines(call):
        """What the caller said, without any personal data they added."""
        spoken = (item.sentence for item in call.pii)
        lines = [m["content"] for m in call.generations[-1].messages if m["role"] == "user"]
        for sentence in spoken:
            lines = [line.replace(f" {sentence}", "") for line in lines]
        return lines

    compared = 0
    for call in (c for c in calls if c.duplicate_of):
        original = by_id[call.duplicate_of]
        if {"cut", "error"} & (call.defects | original.defects):
            continue
        assert call.caller_id == original.caller_id
        pairs = list(zip(caller_lines(call), caller_lines(original), strict=True))
        assert any(a != b for a, b in pairs)
        joined = [" ".join(lines) for lines in zip(*pairs)]
        assert SequenceMatcher(None, *joined, autojunk=False).ratio() > 0.75
        for a, b in pairs:
            assert classify_intent(a) == classify_intent(b)
            assert extract_slots(KB, a) == extract_slots(KB, b)
        compared += 1
    assert compared > 100


def test_other_model_generations_name_and_price_that_model(sample):
    config, _, generations = sample
    others = [g for g in generations if "other_model" in g.defects]
    assert {g.model for g in others} == set(config.other_models)
    for g in others:
        if g.usage is None:
            continue
        per_input, _ = MODEL_PRICES_PER_MILLION[g.model]
        assert g.cost.input == pytest.approx(g.usage.input_tokens * per_input / 1e6)


def test_original_calls_rarely_repeat_each_other_word_for_word(sample):
    _, calls, _ = sample
    scripts = [
        tuple(m["content"] for m in c.generations[-1].messages if m["role"] == "user")
        for c in calls if not c.duplicate_of
    ]
    assert len(scripts) - len(set(scripts)) < 0.01 * len(scripts)

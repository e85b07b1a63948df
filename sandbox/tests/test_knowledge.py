from dataclasses import replace

import pytest
from distillery_sandbox.workload import INTENTS, default_knowledge_base


def test_version_is_stable_for_the_same_content_and_changes_with_it():
    kb = default_knowledge_base()
    assert kb.version == default_knowledge_base().version
    moved = replace(kb, phone="+353 1 555 9999")
    assert moved.version != kb.version
    assert kb.version.startswith("kb-")


def test_price_facts_state_every_service_price():
    kb = default_knowledge_base()
    prices = {fact.subject: fact.value for fact in kb.facts_for("prices") if fact.kind == "price"}
    assert prices == {service.name: f"€{service.price_eur}" for service in kb.services}


def test_opening_hours_facts_cover_every_weekday_including_closed_sunday():
    facts = default_knowledge_base().facts_for("opening_hours")
    by_day = {fact.subject: fact.value for fact in facts}
    assert len(by_day) == 7
    assert by_day["sunday"] == "closed"
    assert by_day["saturday"] == "09:00-13:00"


def test_every_intent_has_ground_truth_with_sentences_a_judge_can_read():
    kb = default_knowledge_base()
    for intent in INTENTS:
        facts = kb.facts_for(intent)
        assert facts, intent
        assert all(fact.text.endswith(".") for fact in facts)


def test_cancelling_facts_carry_the_late_cancellation_fee():
    facts = default_knowledge_base().facts_for("cancelling")
    assert any("€25" in fact.value for fact in facts if fact.kind == "policy")


def test_unknown_intent_is_refused_with_the_known_ones_listed():
    with pytest.raises(ValueError, match="booking"):
        default_knowledge_base().facts_for("weather")


def test_service_names_read_with_the_right_article():
    kb = default_knowledge_base()
    assert kb.service("extended_consultation").a_name == "an extended consultation"
    assert kb.service("blood_test").a_name == "a blood test"

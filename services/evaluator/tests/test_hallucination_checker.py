"""The deterministic checker flags invented or contradicting facts and lets paraphrases pass."""

from __future__ import annotations

import pytest

from distillery_evaluator.domain.hallucination import Reference, check_answer

CLINIC = Reference(facts=[
    "Open on Monday from 08:00 to 19:00.",
    "A skin check costs €90.",
    "A skin check takes 30 minutes.",
    "The clinic's phone number is +353 1 555 0142.",
    "Dr. Priya Raman (dermatology) sees patients on Tuesday, Thursday.",
    "Appointments cancelled with less than 24 hours' notice are charged a €25 fee.",
])


def findings(answer: str, reference: Reference = CLINIC) -> list[str]:
    return [f.describe() for f in check_answer(answer, reference).findings]


def test_a_faithful_answer_has_no_findings():
    assert findings("A skin check costs €90 and takes about 30 minutes.") == []


def test_invented_price_is_flagged_as_contradicting_the_reference():
    [finding] = check_answer("A skin check costs €75.", CLINIC).findings
    assert finding.kind == "price" and finding.claim == "€75"
    assert finding.verdict == "contradicts"
    assert "€90" in finding.describe()


def test_wrong_opening_hours_are_flagged():
    result = check_answer("On Monday we're open from 09:00 to 19:00.", CLINIC)
    assert result.hallucinated
    assert [f.claim for f in result.findings] == ["09:00"]


def test_contradicting_number_is_flagged():
    [finding] = check_answer("A skin check takes 45 minutes.", CLINIC).findings
    assert (finding.kind, finding.claim, finding.verdict) == ("number", "45", "contradicts")


def test_invented_phone_number_and_doctor_are_flagged():
    found = findings("Call Dr. Helen Carter on 01 555 0199.")
    assert any("phone '01 555 0199'" in f for f in found)
    assert any("name 'Dr. Helen Carter'" in f for f in found)


@pytest.mark.parametrize("answer", [
    "We open at 8 am on Monday and close at 7 pm.",
    "On Monday the doors open at 8:00 a.m. and we close at 7pm.",
    "Monday: 08:00 to 19:00.",
])
def test_time_paraphrases_are_not_flagged(answer):
    assert findings(answer) == []


@pytest.mark.parametrize(("answer", "fact"), [
    ("It's 120 dollars.", "The consultation costs $120."),
    ("It's $120.", "The consultation costs 120 dollars."),
    ("That will be USD 120.00.", "The consultation costs $120."),
    ("It takes ten minutes.", "It takes 10 minutes."),
    ("It takes twenty-five minutes.", "It takes 25 minutes."),
    ("Your visit is on March 3rd.", "The visit is on 2026-03-03."),
    ("Ring us on 01 555 0142.", "The clinic's phone number is +353 1 555 0142."),
    ("Dr Raman can see you.", "Dr. Priya Raman sees patients on Tuesday."),
])
def test_correct_paraphrases_are_not_flagged(answer, fact):
    assert findings(answer, Reference(facts=[fact])) == []


def test_a_currency_mismatch_is_flagged():
    assert findings("It's €120.", Reference(facts=["The consultation costs $120."])) != []


def test_values_the_caller_gave_are_supported_by_the_conversation():
    reference = Reference(facts=["Policy: arrive 10 minutes early."],
                          texts=["Can I book a slot at 10:30 on Friday? My number is 087 123 4567."])
    assert findings("Booked for 10:30; we'll text 087 123 4567. Arrive 10 minutes early.",
                    reference) == []


def test_an_answer_without_checkable_claims_is_clean():
    result = check_answer("Good news, VHI is one of the insurers we work with.", CLINIC)
    assert not result.hallucinated and result.claims_checked == 0

"""The deterministic checker flags invented or contradicting facts and lets paraphrases pass."""

from __future__ import annotations

from decimal import Decimal

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


def claims_of(text: str) -> list[tuple]:
    from distillery_evaluator.domain.claims import extract_claims

    return [(c.kind, c.text, sorted(c.values, key=str)) for c in extract_claims(text)]


def amount(value: str) -> tuple:
    return ("amount", Decimal(value).normalize())


@pytest.mark.parametrize(("said", "minutes"), [
    ("8 am", [480]), ("8:00", [480]), ("20:30", [1230]), ("8.30pm", [1230]), ("8.30 p.m.", [1230]),
    ("12 pm", [720]), ("12 am", [0]), ("24:00", [0]), ("noon", [720]), ("Midnight", [0]), ("midday", [720]),
    ("eight o'clock", [480, 1200]), ("12 o'clock", [0, 720]), ("ten o’clock", [600, 1320]), ("ten oclock", [600, 1320]), ("7 PM", [1140]),
    ("one o'clock", [60, 780]), ("twelve o'clock", [0, 720]), ("1 pm", [780]), ("0:30", [30]), ("24:30", [30]),
    ("8:59", [539]),
])
def test_a_time_is_its_minutes_after_midnight_and_an_oclock_both_halves_of_the_day(said, minutes):
    assert claims_of(said) == [("time", said, sorted((("time", m) for m in minutes), key=str))]


@pytest.mark.parametrize(("said", "dates"), [
    ("2026-12-07", [(12, 7, 2026)]), ("07/12/2026", [(7, 12, 2026), (12, 7, 2026)]), ("13/02/26", [(2, 13, 2026)]),
    ("3rd of March, 2027", [(3, 3, 2027)]), ("March 3rd 2027", [(3, 3, 2027)]), ("Sept. 4", [(9, 4, None)]),
    ("Dec 24", [(12, 24, None)]), ("1 January", [(1, 1, None)]), ("31 May 1999", [(5, 31, 1999)]),
    ("12/31/2026", [(12, 31, 2026)]), ("01/01/2026", [(1, 1, 2026)]), ("13/01/2026", [(1, 13, 2026)]),
    ("Mar. 3", [(3, 3, None)]), ("13/02/99", [(2, 13, 2099)]),
])
def test_a_date_is_its_month_day_and_year_and_a_numeric_one_both_ways_round(said, dates):
    assert claims_of(said) == [("date", said, sorted((("date", *d) for d in dates), key=str))]


@pytest.mark.parametrize(("said", "dates"), [
    ("31 June", []), ("30 June", [(6, 30, None)]), ("31 March", [(3, 31, None)]), ("31 April", []),
    ("30 February", []), ("29 February", [(2, 29, None)]),  # in some year
    ("29 February 2025", []), ("Feb 29, 2024", [(2, 29, 2024)]), ("29/02/2023", []), ("2100-02-29", []),
    ("2000-02-29", [(2, 29, 2000)]), ("2026-13-05", []), ("2026-00-05", []), ("2026-12-00", []),
    ("0 March", []), ("31 December 2026", [(12, 31, 2026)]), ("02/30/2026", []), ("30/01/2026", [(1, 30, 2026)]),
])
def test_a_date_no_calendar_has_is_still_a_date_and_never_a_phone_number(said, dates):
    assert claims_of(said) == [("date", said, sorted((("date", *d) for d in dates), key=str))]


@pytest.mark.parametrize(("said", "number", "currency"), [
    ("$120", "120", "USD"), ("120 dollars", "120", "USD"), ("USD 120", "120", "USD"), ("EUR 65", "65", "EUR"),
    ("€65.50", "65.5", "EUR"), ("twenty five euros", "25", "EUR"), ("1,200.50 pounds", "1200.5", "GBP"),
    ("£0", "0", "GBP"), ("0.50 GBP", "0.5", "GBP"), ("one hundred dollars", "100", "USD"),
])
def test_a_price_is_its_amount_and_currency_however_written(said, number, currency):
    assert claims_of(said) == [("price", said, sorted(
        [amount(number), ("price", Decimal(number).normalize(), currency)], key=str))]


@pytest.mark.parametrize(("said", "claims"), [
    ("+353 1 555 0142", [("phone", "+353 1 555 0142", [("phone", "35315550142")])]),
    ("call 555-0142 now", [("phone", "555-0142", [("phone", "5550142")])]),
    ("RX7Q2K", [("code", "RX7Q2K", [("code", "RX7Q2K")])]), ("AB-123", [("code", "AB-123", [("code", "AB123")])]),
    ("A1B2", [("code", "A1B2", [("code", "A1B2")])]),
    ("Dr. Amara Okafor", [("name", "Dr. Amara Okafor", [("name", "okafor")])]),
    ("Nurse Kelly", [("name", "Nurse Kelly", [("name", "kelly")])]),
    ("ten minutes", [("number", "ten", [amount("10")])]), ("twenty-one days", [("number", "twenty-one", [amount("21")])]),
    ("one hundred people", [("number", "one hundred", [amount("100")])]), ("15%", [("number", "15%", [amount("15")])]),
    ("2,000", [("number", "2,000", [amount("2000")])]), ("3.50", [("number", "3.50", [amount("3.5")])]),
    ("123 456", [("number", "123", [amount("123")]), ("number", "456", [amount("456")])]),
    ("20 minutes 555 0142", [("phone", "555 0142", [("phone", "5550142")]), ("number", "20", [amount("20")])]),
    ("0:30 pm", [("number", "0", [amount("0")]), ("number", "30", [amount("30")])]),  # no 0 pm
    ("13 o'clock", [("number", "13", [amount("13")])]),
    ("13/14/2026", [("date", "13/14/2026", [])]),  # neither way round a date: a claim nothing backs
    ("1234 5678 9012 3456", [("number", n, [amount(n)]) for n in ("1234", "5678", "9012", "3456")]),  # 16 digits
    ("+123 456 789 012 345", [("phone", "+123 456 789 012 345", [("phone", "123456789012345")])]),  # 15
    ("thirteen o'clock", []), ("zero o'clock", []),  # no such hour
    ("13:00 pm", [("number", "13", [amount("13")]), ("number", "00", [amount("0")])]),
    ("12/32/2026", [("date", "12/32/2026", [])]),
    ("1/2/100", [("number", n, [amount(n)]) for n in ("1", "2", "100")]),  # a year has two digits or four
    # Claims that touch are each read; a later kind's match over an earlier one's span is not.
    ("£5€6", [("price", "£5", [amount("5"), ("price", Decimal(5), "GBP")]),
              ("price", "€6", [amount("6"), ("price", Decimal(6), "EUR")])]),
    ("5$6", [("price", "$6", [amount("6"), ("price", Decimal(6), "USD")]), ("number", "5", [amount("5")])]),
    ("At 08:00, 7 people", [("time", "08:00", [("time", 480)]), ("number", "7", [amount("7")])]),
])
def test_phones_codes_names_and_numbers_are_read_without_overlapping(said, claims):
    assert claims_of(said) == claims


def test_a_number_is_read_in_digits_or_words():
    from distillery_evaluator.domain.claims import parse_amount

    assert [parse_amount(t) for t in ("1,200.50", " Twenty-Five ", "one hundred", "hundred", "zero", "nineteen",
                                      "ninety nine", "one hundred twenty", "two hundred and")] == [
        Decimal("1200.50"), 25, 100, 100, 0, 19, 99, 120, None]


@pytest.mark.parametrize(("answer", "fact", "described"), [
    ("Call 087 555 0142.", "Call 555 0142.", []),  # the same number with its trunk prefix
    ("Call 555 0142.", "Call 555 0143.", ["phone '555 0142' contradicts the reference (555 0143)"]),
    ("Call 555 0142.", "Call 5 0142 any time.", ["phone '555 0142' is not in the reference"]),
    ("Call +353 1 555 0142.", "Call 01 555 0142.", []), ("Call 555 0140.", "Call 087 555 0140.", []),
    ("Call 555 0140.", "Call 01 555 0140.", []),  # the shorter is the one without its area code
    ("It takes one minute.", "It takes 0 minutes.", ["number 'one' contradicts the reference (0)"]),
    ("On 3 March 2027.", "On 3 March.", []),
    ("On 3 March.", "On 3 March 2027.", []), ("On 3 March 2026.", "On 3 March 2027.",
                                               ["date '3 March 2026' contradicts the reference (3 March 2027)"]),
    ("It is 120.", "It costs €120.", []), ("It costs €120.", "It is 120.", []),
    ("It costs €120.", "It costs 120.", []),
    ("It costs $5.", "Costs: $1, $2, $3, $4, $6, $1.", [
        "price '$5' contradicts the reference ($1, $2, $3, $4)"]),
    ("See Dr Byrne.", "See Dr Raman.", ["name 'Dr Byrne' contradicts the reference (Dr Raman)"]),
    ("Code RX7Q2K.", "Nothing here.", ["code 'RX7Q2K' is not in the reference"]),
    ("Come on 31 June.", "Open 30 June.", ["date '31 June' is not on the calendar"]),
    ("Come on 31 June.", "Nothing here.", ["date '31 June' is not on the calendar"]),
    ("Form 2026-13-05.", "Form 2026-13-05 is kept.", []),  # the reference says it too: not the answer's invention
    ("Form 2026-13-05.", "Form 2026-13-06 is kept.", ["date '2026-13-05' is not on the calendar"]),
    ("Form 2026-13-05.", "Call +2026 13 05.", ["date '2026-13-05' is not on the calendar"]),
    ("On 31  June.", "Closed on 31 june.", []),  # case and spacing aside, the same words
    ("On 30 June.", "Closed on 31 June.", ["date '30 June' contradicts the reference (31 June)"]),
])
def test_each_kind_agrees_as_it_is_written_and_a_finding_says_what_the_reference_has(answer, fact, described):
    assert findings(answer, Reference(facts=[fact])) == described


def test_a_result_counts_every_claim_checked_and_scores_an_answer_not_its_claims():
    result = check_answer("At 08:00 for €90 with Dr Byrne and Dr Mills.", CLINIC)
    assert (result.claims_checked, result.hallucinated, result.score) == (4, True, 1.0)
    assert [f.verdict for f in result.findings] == ["contradicts", "contradicts"]
    assert [f.verdict for f in check_answer("Ask for RX7Q2K.", CLINIC).findings] == ["unsupported"]
    assert [f.describe() for f in result.findings] == ["name 'Dr Byrne' contradicts the reference (Dr. Priya Raman)",
                                                        "name 'Dr Mills' contradicts the reference (Dr. Priya Raman)"]
    clean = check_answer("At 08:00 for €90.", CLINIC)
    assert (clean.claims_checked, clean.hallucinated, clean.score) == (2, False, 0.0)

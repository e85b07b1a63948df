"""Text answers that stop mid-sentence are told apart from complete ones."""

from __future__ import annotations

import pytest

from distillery_cleaner.domain.truncation import stops_mid_sentence


@pytest.mark.parametrize("cut", [
    "Dr. Okafor is free on Tuesday at",
    "It's €95 for an extended consultation, and",
    "We have slots at 09:30, 11:00 and",
    "Sure, an",
    "The options are:",
    "I can book that for you -",
])
def test_answers_cut_by_the_token_limit_are_flagged(cut):
    assert stops_mid_sentence(cut)


@pytest.mark.parametrize("complete", [
    "Dr. Okafor is free on Tuesday at 9:30. Shall I book it?",
    "Which day suits you?",
    "It's €95",
    "We open at 08:00",
    "See you then 👋",
    "Have a lovely day 🙂",
    'She said "see you on Tuesday"',
    "You're booked in (Tuesday, 09:30)",
    "Okay",
    "You can reach us on <PHONE>",
    "Visit liffeyhealth.ie",
    "Thank you!",
    "Goodbye…",
    "",
])
def test_complete_answers_are_not_flagged(complete):
    assert not stops_mid_sentence(complete)


@pytest.mark.parametrize("complete", [
    "Is that everything‼", "Really⁉", "好的。", "Thanks！", "It's “booked”", "Noted »",
    "See [the list]", "Use {braces}", "Return <value>", "Run `make`", "Very **important**",
    "Rated 5²", "The discount is 50%", "Priced in ¥", "Temperature 21°", "Keycap 1\u20e3",
    "Great ❤\ufe0f", "Family 👨\u200d", "Okay \ufe0e",
])
def test_every_kind_of_non_letter_ending_is_complete(complete):
    assert not stops_mid_sentence(complete)


def test_trailing_whitespace_and_newlines_do_not_hide_a_cut():
    assert stops_mid_sentence("Dr. Okafor is free on Tuesday at  \n")
    assert stops_mid_sentence("  Sure, an\n")


def test_only_the_last_word_is_read_as_an_address():
    assert not stops_mid_sentence("You can visit liffeyhealth.ie")
    assert not stops_mid_sentence("Write to bookings@liffey")
    assert stops_mid_sentence("Visit liffeyhealth.ie for the slots and")

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

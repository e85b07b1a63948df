"""Speech-to-text forms rewritten for the recognisers, each at the edge of what it rewrites."""

from __future__ import annotations

import pytest

from distillery_cleaner.domain.spoken import rewrite_for_detection


def rewritten(text: str) -> str:
    return rewrite_for_detection(text).text


def test_spoken_digits_are_written_from_five_digits_on():
    assert rewritten("room one two three four") == "room one two three four"
    assert rewritten("code one two three four five") == "code 12345"
    assert rewritten("oh double seven, triple nine") == "077999"
    assert rewritten("zero oh one two three") == "00123"


def test_typed_digits_join_a_spoken_run_only_one_or_two_at_a_time():
    assert rewritten("oh 7 9 1 1") == "07911"
    assert rewritten("use this one 2720.9113.1250.5459") == "use this one 2720 9113 1250 5459"


def test_separators_go_from_nine_digits_on_so_dates_and_versions_keep_theirs():
    assert rewritten("on 14.03.1987") == "on 14.03.1987"
    assert rewritten("v 1.2.3") == "v 1.2.3"
    assert rewritten("12.34.5678") == "12.34.5678"
    assert rewritten("123.45.6789") == "123 45 6789"
    assert rewritten("030 / 2345 6789") == "030 2345 6789"


def test_spelled_letters_and_digits_join_from_eight_characters_with_four_digits():
    assert rewritten("ref K 4 7 Q 9") == "ref K 4 7 Q 9"
    assert rewritten("A B C D E 1 2 3") == "A B C D E 1 2 3"  # eight, but three digits
    assert rewritten("A B 1 2 3 4 5 C") == "AB12345C"
    assert rewritten("J K oh two four three five seven A") == "JK024357A"


@pytest.mark.parametrize(("said", "written"), [
    ("jane dot doe at example dot com", "jane.doe@example.com"),
    ("wei underscore zhang at yahoo dot co dot uk", "wei_zhang@yahoo.co.uk"),
    ("yuki dash tanaka at icloud dot com", "yuki-tanaka@icloud.com"),
    ("tomasz dot nowak eighty seven at gmail dot com", "tomasz.nowak87@gmail.com"),
])
def test_spoken_email_addresses_are_written(said, written):
    assert rewritten(said) == written


def test_at_and_dot_in_ordinary_speech_stay():
    for text in ("I'll be at the clinic at 3pm", "meet me at home dot", "look at example dot nothing"):
        assert rewritten(text) == text


def test_invisible_characters_go_and_visible_ones_stay():
    assert rewritten("4111\u200b1111\u2060\ufeff1111\u00ad1111") == "4111111111111111"
    assert rewritten("Café\u00a0open") == "Café\u00a0open"


def test_every_written_character_points_back_at_what_was_said():
    said = "hi, oh eight seven, one two three, four five six seven: ok"
    result = rewrite_for_detection(said)
    start = result.text.index("0871234567")
    assert said[slice(*result.original_span(start, start + 10))] == "oh eight seven, one two three, four five six seven"
    assert said[slice(*result.original_span(0, 2))] == "hi"
    tail = result.text.index("ok")
    assert said[slice(*result.original_span(tail, tail + 2))] == "ok"
    unchanged = rewrite_for_detection("nothing to do")
    assert unchanged.original_span(3, 7) == (3, 7)

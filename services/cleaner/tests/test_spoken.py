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


@pytest.mark.parametrize(("said", "written"), [
    ("ann twenty at x dot com", "ann20@x.com"),             # a tens word alone, last
    ("ann twenty one at x dot com", "ann21@x.com"),         # tens and a unit are one number
    ("ann twenty one two at x dot com", "ann212@x.com"),    # ...and the next unit starts afresh
    ("ann ten one at x dot com", "ann101@x.com"),           # ten is no tens word to add to
    ("ann eleven two at x dot com", "ann112@x.com"),
    ("ann twelve thirteen at x dot com", "ann1213@x.com"),  # a number word after a number word
    ("ann twenty oh at x dot com", "ann200@x.com"),         # oh, o and zero are digits, never added
    ("ann twenty o at x dot com", "ann200@x.com"),
    ("ann twenty zero at x dot com", "ann200@x.com"),
    ("ann one two at x dot com", "ann12@x.com"),
    ("ann 4 2 at x dot com", "ann42@x.com"),
    ("Ann Twenty One at Example DOT com", "Ann21@Example.com"),
    ("ann AT example Dot com", "ann@example.com"),
    ("ann at sign example dot com", "ann@example.com"),
    ("ann plus clinic at x dot ie", "ann+clinic@x.ie"),
    ("a minus b hyphen c at x dot ie", "a-b-c@x.ie"),
    ("one dot ann at x dot com", "1.ann@x.com"),            # a number before a joiner stays before it
    ("one dot ann two at x dot com", "1.ann2@x.com"),
])
def test_numbers_joiners_and_case_in_spoken_addresses(said, written):
    assert rewritten(said) == written


def test_spelled_chains_keep_their_letters_and_read_repeats():
    assert rewritten("a b c 1 2 3 4 5") == "abc12345"
    assert rewritten("a, b, c, 1, 2, 3, 4, 5") == "abc12345"
    assert rewritten("A B C D 1 2 3 4") == "ABCD1234"  # eight, four of them digits
    assert rewritten("A B C D E F 1 2 3") == "A B C D E F 1 2 3"  # nine, but three digits
    assert rewritten("A B C double four five six seven") == "ABC44567"
    assert rewritten("J K triple two four five six A") == "JK222456A"
    assert rewritten("A B C D E double 4 5 6") == "ABCDE4456"
    assert rewritten("X Y Z 1 2 3 4 five o") == "XYZ12345o"  # a lone o may be a letter: kept


def test_a_run_too_short_to_write_does_not_stop_a_later_one():
    assert rewritten("room one two three four, code one two three four five") == \
        "room one two three four, code 12345"
    assert rewritten("on 14.03.1987 card 4111.1111.1111.1111") == "on 14.03.1987 card 4111 1111 1111 1111"


def test_an_empty_span_stays_empty_where_its_character_came_from():
    said = "hi oh seven nine one one ok"
    result = rewrite_for_detection(said)
    assert result.text == "hi 07911 ok"
    assert result.original_span(3, 3) == (3, 3)
    assert result.original_span(4, 4) == (3, 3)  # inside "07911": where "oh seven ..." starts
    assert result.original_span(len(result.text), len(result.text)) == (len(said), len(said))
    assert result.original_span(9, 11) == (25, 27)
    assert said[slice(*result.original_span(3, 8))] == "oh seven nine one one"


def test_a_rewrite_of_a_rewrite_points_back_at_the_first_text():
    said = "card 4111\u200b1111.1111.1111 ok"
    result = rewrite_for_detection(said)
    assert result.text == "card 41111111 1111 1111 ok"
    start = result.text.index("4")
    assert said[slice(*result.original_span(start, start + 18))] == "4111\u200b1111.1111.1111"
    assert said[slice(*result.original_span(start + 9, start + 13))] == "4111\u200b1111.1111.1111"  # all of it
    assert said[slice(*result.original_span(len(result.text) - 2, len(result.text)))] == "ok"

"""The phone recogniser finds what Presidio's own finds, of at least seven digits, and skips
libphonenumber on texts that cannot hold a candidate that long."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from distillery_cleaner.domain.recognisers import MIN_PHONE_DIGITS, PHONE_REGIONS, ShortCircuitPhoneRecognizer

SHORTCUT = ShortCircuitPhoneRecognizer(supported_regions=PHONE_REGIONS)
PRESIDIO = PhoneRecognizer(supported_regions=PHONE_REGIONS)
ENTITIES = ["PHONE_NUMBER"]


def found(recogniser: PhoneRecognizer, text: str) -> list[tuple[int, int, float]]:
    return sorted((r.start, r.end, r.score) for r in recogniser.analyze(text, ENTITIES))


def numbers(text: str) -> list[tuple[int, int, float]]:
    """Presidio's findings in ``text`` that hold seven digits or more."""
    return [(start, end, score) for start, end, score in found(PRESIDIO, text)
            if sum(c.isdigit() for c in text[start:end]) >= MIN_PHONE_DIGITS]


# Digit-heavy text: numbers broken by every separator libphonenumber accepts and by those it
# does not (':' of times, ',' of prices), among words.
pieces = st.one_of(
    st.text(alphabet="0123456789", min_size=1, max_size=5),
    st.sampled_from([" ", "-", ".", "/", "(", ")", "+", ":", ",", " x ", "\u00a0", "\u2013", "\uff0d",
                     " ext ", "€", "Call ", " on ", "+353 ", "+44 ", "0", "07", "087", "1-800-"]),
)


@settings(max_examples=600, deadline=None)
@given(st.lists(pieces, min_size=1, max_size=18).map("".join))
@example("030000 ext 0")  # six digits and an extension's: a seven-digit number (found by this test)
@example("0300 #000")
def test_the_prefilter_never_hides_a_number_presidio_finds(text):
    assert found(SHORTCUT, text) == numbers(text)


def test_numbers_are_found_but_not_short_local_ones_and_hours_and_prices_skip_the_matcher(monkeypatch):
    for text in ("Call me on 087 123 4567.", "It's +353 1 555 0142", "my number is 020 7946 0958",
                 "Berlin, 030 1234"):  # seven digits: the shortest kept
        assert found(SHORTCUT, text) == found(PRESIDIO, text) != []
    # German metadata reads 4-6 digits as a local number: Presidio flags a booking reference.
    assert found(PRESIDIO, "Booking 069856, slot 09:00-09:30") != [] == found(SHORTCUT, "Booking 069856, slot 09:00-09:30")
    assert found(SHORTCUT, "Ref 069856 or call 087 123 4567") == [(19, 31, 0.4)] != found(PRESIDIO, "Ref 069856 or call 087 123 4567")
    calls: list[str] = []
    monkeypatch.setattr(PhoneRecognizer, "analyze", lambda self, text, *a, **k: calls.append(text) or [])
    SHORTCUT.analyze("Open 09:00-18:00 Monday to Friday, 10:00-13:00 Saturday; €60, €90, €120.", ENTITIES)
    SHORTCUT.analyze("555 0142", ENTITIES)  # seven digits a space apart: a candidate
    assert calls == ["555 0142"]

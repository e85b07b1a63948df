"""Personal identifiers are replaced by typed placeholders, and only real ones."""

from __future__ import annotations

import pytest

from distillery_cleaner.domain.config import PiiConfig
from distillery_cleaner.domain.pii import PiiRedactor


def redact(text: str, **config) -> tuple[str, dict[str, int]]:
    cleaned, counts = PiiRedactor(PiiConfig(**config)).redact(text)
    return cleaned, dict(counts)


def test_email_addresses_become_email_placeholders():
    assert redact("Send it to mary.o'brien_7@eircom.net please.")[0] == "Send it to <EMAIL> please."
    assert redact("It's ann.byrne+clinic@outlook.ie.") == ("It's <EMAIL>.", {"EMAIL": 1})


@pytest.mark.parametrize("spoken", [
    "087 123 4567",           # Irish mobile, local
    "+353 87 123 4567",       # the same, international
    "0044 20 7946 0958",      # UK landline with 00 prefix
    "(01) 234 5678",          # area code in brackets
    "555-123-4567",           # North American, dashes
    "0 8 7 1 2 3 4 5 6 7",    # spoken digit by digit
    "087-123-4567",
])
def test_phone_numbers_in_international_local_and_spoken_forms_are_redacted(spoken):
    assert redact(f"You can reach me on {spoken}, thanks.") == ("You can reach me on <PHONE>, thanks.", {"PHONE": 1})


@pytest.mark.parametrize("harmless", [
    "We open at 08:00 and close at 19:00.",
    "A check-up costs €65 and takes 20 minutes.",
    "Your appointment is on 2026-03-02 at 09:30.",
    "The booking reference is 40 17.",
    '{"slots": ["09:30", "11:00"], "duration_minutes": 40, "price": "€95"}',
])
def test_times_prices_dates_and_tool_results_are_not_phone_numbers(harmless):
    assert redact(harmless) == (harmless, {})


def test_card_numbers_are_redacted_only_when_they_pass_the_luhn_check():
    assert redact("The card is 4111 1111 1111 1111.") == ("The card is <CARD>.", {"CARD": 1})
    assert redact("The card is 4111-1111-1111-1111.")[1] == {"CARD": 1}
    cleaned, counts = redact("The card is 4111 1111 1111 1112.")
    assert "CARD" not in counts


def test_ibans_are_redacted_only_with_valid_check_digits():
    assert redact("My IBAN is IE29 AIBK 9311 5212 3456 78 for refunds.") == (
        "My IBAN is <IBAN> for refunds.", {"IBAN": 1})
    assert redact("IBAN GB82WEST12345698765432.")[1] == {"IBAN": 1}
    assert "IBAN" not in redact("My IBAN is IE30 AIBK 9311 5212 3456 78.")[1]


def test_an_iban_followed_by_a_capitalised_word_is_still_found():
    assert redact("IE29 AIBK 9311 5212 3456 78 OK")[0] == "<IBAN> OK"


def test_us_social_security_and_uk_national_insurance_numbers_are_redacted():
    assert redact("SSN 123-45-6789.") == ("SSN <SSN>.", {"SSN": 1})
    assert "SSN" not in redact("SSN 666-45-6789.")[1]  # never issued
    assert redact("My NI number is AB 12 34 56 C.") == ("My NI number is <NINO>.", {"NINO": 1})
    assert "NINO" not in redact("QQ 12 34 56 C")[1]  # QQ: the prefix HMRC keeps for examples
    assert "NINO" not in redact("Code GB 12 34 56 A.")[1]  # GB is not an allocated prefix


def test_counts_add_up_per_kind():
    text = "Call 087 123 4567 or 086 765 4321, or mail a@b.ie."
    assert redact(text) == ("Call <PHONE> or <PHONE>, or mail <EMAIL>.", {"EMAIL": 1, "PHONE": 2})


def test_allowed_business_numbers_stay_in_either_written_form():
    allow = ("+353 1 555 0142", "bookings@liffeyhealth.ie")
    text = "Call us on +353 1 555 0142 or 01 555 0142, or write to bookings@liffeyhealth.ie."
    assert redact(text, allow=allow) == (text, {})
    assert redact("My number is 087 123 4567.", allow=allow)[1] == {"PHONE": 1}


def test_only_configured_kinds_are_looked_for():
    assert redact("Mail a@b.ie or call 087 123 4567.", kinds=("EMAIL",)) == (
        "Mail <EMAIL> or call 087 123 4567.", {"EMAIL": 1})


def test_unknown_kinds_are_a_configuration_error():
    with pytest.raises(ValueError, match="unknown PII kind"):
        PiiConfig(kinds=("PASSPORT",))


def test_overlapping_detections_become_one_placeholder_of_the_surest_kind():
    from distillery_cleaner.domain.pii import Found, _without_overlaps

    # Found out of order; the surer kind names the merged span, which covers both.
    assert _without_overlaps([Found(3, 10, "CARD", 0.9), Found(0, 5, "PHONE", 0.4)]) == [Found(0, 10, "CARD", 0.9)]
    assert _without_overlaps([Found(0, 10, "ADDRESS", 0.9), Found(2, 4, "PERSON", 0.85)]) == [
        Found(0, 10, "ADDRESS", 0.9)]
    # As sure: the longer one's kind; as long too: the first found.
    assert _without_overlaps([Found(0, 5, "PHONE", 0.5), Found(2, 12, "SSN", 0.5)]) == [Found(0, 12, "SSN", 0.5)]
    assert _without_overlaps([Found(0, 10, "PHONE", 0.5), Found(2, 6, "SSN", 0.5)]) == [Found(0, 10, "PHONE", 0.5)]
    assert _without_overlaps([Found(0, 6, "PHONE", 0.5), Found(4, 10, "SSN", 0.5)]) == [Found(0, 10, "PHONE", 0.5)]
    assert _without_overlaps([Found(3, 6, "PHONE", 0.5), Found(4, 10, "SSN", 0.5)]) == [Found(3, 10, "SSN", 0.5)]


def test_detections_that_only_touch_or_are_apart_stay_separate():
    from distillery_cleaner.domain.pii import Found, _without_overlaps

    apart = [Found(0, 5, "PHONE", 0.5), Found(5, 8, "EMAIL", 0.9), Found(10, 14, "CARD", 0.4),
             Found(12, 20, "IBAN", 0.3)]
    assert _without_overlaps(apart) == [Found(0, 5, "PHONE", 0.5), Found(5, 8, "EMAIL", 0.9),
                                        Found(10, 20, "CARD", 0.4)]
    assert _without_overlaps([]) == []


@pytest.fixture
def service_logging():
    """The service's logging (``configure_logging``) for one test, the process's put back after."""
    import logging

    import structlog

    root = logging.getLogger()
    saved = (root.handlers[:], root.level, structlog.get_config(),
             {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict})
    yield
    root.handlers[:], level, config, levels = saved
    root.setLevel(level)
    structlog.configure(**config)
    structlog.contextvars.unbind_contextvars("service")  # configure_logging bound it
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


def test_a_cleaner_logging_at_info_writes_no_line_per_text_it_analyses(service_logging, capsys):
    from distillery_runtime.logs import configure_logging

    configure_logging("cleaner", "INFO")
    redactor = PiiRedactor(PiiConfig(ner=False))
    for turn in range(5):
        redactor.redact(f"Turn {turn}: you can reach me on 087 123 4567.")
    assert "recognizers" not in capsys.readouterr().err

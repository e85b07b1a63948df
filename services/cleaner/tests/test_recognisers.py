"""Each of the cleaner's recognisers, at the edges of its rule: what it redacts and what it keeps.

The redactor here is built from freshly built recognisers on every call (under a millisecond,
without NER): ``domain.pii`` caches its analyzer per process, and mutation testing forks each
mutant from a process that has already built it, so a mutant of a constructor or of
``build_recognisers`` would otherwise never run.
"""

from __future__ import annotations

import pytest
import regex
import spacy
from cleaner_samples import traced

from distillery_cleaner.domain import pii
from distillery_cleaner.domain.config import PiiConfig
from distillery_cleaner.domain.pii import Counts, PiiRedactor, _LoadedSpacyEngine
from distillery_cleaner.domain.recognisers import build_recognisers

KINDS = PiiConfig().kinds


@pytest.fixture
def redact(monkeypatch):
    monkeypatch.setattr(pii, "_analyzer", pii._analyzer.__wrapped__)

    def redact(text: str, kinds: tuple[str, ...] = KINDS) -> tuple[str, Counts]:
        return PiiRedactor(PiiConfig(kinds=kinds, ner=False)).redact(text)

    return redact


@pytest.mark.parametrize(("said", "redacted"), [
    ("write to jane@clinic.ie please", "write to <EMAIL> please"),
    ("My card is 2221 0000 0000 0009", "My card is <CARD>"),  # Mastercard's 2-series, first and last
    ("My card is 2720 9999 9999 9996", "My card is <CARD>"),
    ("IBAN gb82 west 1234 5698 7654 32", "IBAN <IBAN>"),  # typed in lower case
    ("My SSN is 123-45-6789", "My SSN is <SSN>"),
    ("NI number J K 02 43 57 A", "NI number <NINO>"),  # prefix letters said apart
    ("call me on +353 87 123 4567", "call me on <PHONE>"),  # libphonenumber's alone
    ("ring 00999123456789 please", "ring <PHONE> please"),  # no such country: dialled all the same
    ("my number is 555 123 4567", "my number is <PHONE>"),  # North American shape, not a valid one
    ("born 14 March 1987", "born <DATE_OF_BIRTH>"),
    ("I live at 221B Baker Street", "I live at <ADDRESS>"),
    ("my name is Jane Doe", "my name is <PERSON>"),
    ("I'll take 09:30. It's for Chloe Keane.", "I'll take 09:30. It's for <PERSON>."),
])
def test_each_kind_is_redacted_by_its_own_recogniser_and_only_when_configured(redact, said, redacted):
    kind = redacted[redacted.index("<") + 1:redacted.index(">")]
    assert redact(said) == redact(said, (kind,)) == (redacted, ((kind, 1),))
    assert redact(said, tuple(k for k in KINDS if k != kind)) == (said, ())


@pytest.mark.parametrize("kept", [
    "write to jane@printer.local please",  # no public suffix: a device, not a mailbox
    "My card is 2220 9999 9999 9998",  # just below Mastercard's 2-series
    "NI number QQ 12 34 56 C",  # HMRC's example prefix, never issued
    "ring +12345678 please",  # eight digits after the prefix: too short to dial
    "my order number is 123456789",  # nine bare digits, and no word of social security
    "my ssn is 666-12-3456",  # an area the SSA never allocates
    "it's Friday, is the clinic open?",  # a weekday after "it's" is not a name
    "That is for Monday, isn't it?",  # nor after "that is for"
])
def test_values_outside_each_rule_are_kept(redact, kept):
    assert redact(kept) == (kept, ())


def test_nine_bare_digits_are_a_social_security_number_only_when_the_turn_speaks_of_one(redact):
    assert redact("order 123456789") == ("order 123456789", ())
    assert redact("my ssn is 123456789") == ("my ssn is <SSN>", (("SSN", 1),))
    assert redact("my social is 123 45 6789") == ("my social is <SSN>", (("SSN", 1),))
    # Separated, the number is one without being named.
    assert redact("it's 123-45-6789 and 123 45 6789") == ("it's <SSN> and <SSN>", (("SSN", 2),))


def test_an_email_address_made_of_a_phone_number_is_an_email_address(redact):
    assert redact("write to 00447911123456@example.com") == ("write to <EMAIL>", (("EMAIL", 1),))


def test_a_date_is_a_date_of_birth_only_after_a_word_of_birth_close_before_it(redact):
    assert redact("DOB 01/02/1990") == ("DOB <DATE_OF_BIRTH>", (("DATE_OF_BIRTH", 1),))
    # After the date, the word of birth does not make it one: an appointment the day after.
    after = "Can I come on 14 March 1987, the day after my birthday?"
    assert redact(after) == (after, ())
    # At most 48 characters from the start of the word of birth to the date.
    near = "I was born, as my mother tells everybody who asks, on 14 March 1987"
    far = "I was born, as my mother tells everybody who asked, on 14 March 1987"
    assert near.index("14 March") - near.index("born") == 48 == far.index("14 March") - far.index("born") - 1
    assert redact(near)[0] == "I was born, as my mother tells everybody who asks, on <DATE_OF_BIRTH>"
    assert redact(far) == (far, ())


@pytest.mark.parametrize(("structured", "redacted"), [
    ('{"service": "blood_test", "patient_name": "Tomas O\'Brien"}',
     '{"service": "blood_test", "patient_name": "<PERSON>"}'),
    ('{"patient": {"firstName": "Oisin", "last-name": "Ryan", "name": "Aoife"}}',
     '{"patient": {"firstName": "<PERSON>", "last-name": "<PERSON>", "name": "<PERSON>"}}'),
    ('{"caller" : "Anna Quinn"}', '{"caller" : "<PERSON>"}'),
    ('{"caller"\n  : "Anna Quinn", "phone"\t:"0871234567"}', '{"caller"\n  : "<PERSON>", "phone"\t:"<PHONE>"}'),
    ('{"dateOfBirth": "1984-03-02", "DOB":"2 March 1984"}',
     '{"dateOfBirth": "<DATE_OF_BIRTH>", "DOB":"<DATE_OF_BIRTH>"}'),
    ('{"mobile_number": "0871234567x", "home_address": "Apt 4, The Maltings", "eircode": "D02 X285"}',
     '{"mobile_number": "<PHONE>", "home_address": "<ADDRESS>", "eircode": "<ADDRESS>"}'),
    ('{"contact_email": "jane at clinic"}', '{"contact_email": "<EMAIL>"}'),
    ('{"name": "Sean \\"Junior\\" Walsh", "time": "09:30"}', '{"name": "<PERSON>", "time": "09:30"}'),
])
def test_the_value_of_a_key_that_names_personal_data_is_redacted_whatever_the_value(redact, structured, redacted):
    assert redact(structured)[0] == redacted


@pytest.mark.parametrize("kept", [
    '{"service_name": "Blood Test", "doctor_name": "Dr. Tomasz Nowak", "username": "Front Desk"}',
    '{"status": "confirmed", "reference": "LH-9631", "weekday": "monday", "slots": ["09:30"]}',
    '{"patient_name": ""}',  # nothing to redact
    'patient_name: Anna Quinn',  # not JSON: the sentence recognisers decide (and NER, when on)
    '{"phone_numbers": ["Anna Quinn"]}',  # a list: only a key's own string value is read
])
def test_keys_that_name_no_personal_data_and_values_that_are_not_a_keys_string_are_kept(redact, kept):
    assert redact(kept, ("PERSON", "DATE_OF_BIRTH", "PHONE", "ADDRESS", "EMAIL")) == (kept, ())


_KEYED_EDGES = [
    '{"name": "a\\"name": "Bob"}', '"a": "patient_name": "Bob"', '{"name":"x","name":"y","NAME" :\n "z"}',
    '{"name": "Sean \\"Junior\\" Walsh\\\\", "x": 1}', '{"name": "two\nlines"}', '{"name": ""}',
    '{"name": "\\\\"}', '{"name": "a\\\nb"}', '"phone" : "087", "e_mail": "x", "homeAddress": "y", "dob": "z"',
    '{"patient_name": ["Anna"], "caller": {"name": "Oisin"}}', 'name": "Bob" "name": "Ann', '"": "x"',
    '{"naïve_phone": "087 1234567"}', '{"customerName": "Ann", "first_name": "B", "mobile_no": "1"}',
]


def test_the_keyed_recognisers_one_pass_finds_what_each_keys_look_behind_pattern_finds():
    """``KeyedValueRecognizer`` does not run its pattern: one pass over the text's keys and string
    values serves the five. Each finds what Presidio's loop over its pattern finds, on the labelled
    utterances, tool arguments, texts at the edges of JSON's quoting and random strings of them."""
    import random

    from presidio_analyzer import PatternRecognizer

    from distillery_cleaner.domain.recognisers import KeyedValueRecognizer
    from distillery_cleaner.pii_evaluation import load_utterances

    atoms = ['"', "\\", '\\"', ":", ' "', "\n", '"name"', '"phone": "', '"DOB" : "', ': "', "Ann", "email", ", "]
    rnd = random.Random(5)
    texts = [*(u.text for u in load_utterances("all")), *_KEYED_EDGES,
             *("".join(rnd.choice(atoms) for _ in range(rnd.randint(1, 24))) for _ in range(3000))]
    keyed = [r for r in build_recognisers(KINDS, ner=False) if isinstance(r, KeyedValueRecognizer)]
    assert len(keyed) == 5
    found_any = 0
    for recogniser in keyed:
        for text in texts:
            ours = traced(recogniser.analyze(text, []))
            assert ours == traced(PatternRecognizer.analyze(recogniser, text, [])), (recogniser.name, text)
            found_any += bool(ours)
    assert found_any > 150


@pytest.fixture(scope="module")
def ner_engine() -> _LoadedSpacyEngine:
    # A rule-based stand-in for the NER model: what it labels PERSON is what the recogniser reads.
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([  # type: ignore[attr-defined]
        {"label": "PERSON", "pattern": name} for name in ("Sarah Johnson", "May", "RX7Q2K")])
    return _LoadedSpacyEngine(nlp, ["PERSON"])


def test_named_entities_are_names_unless_they_hold_digits_or_are_a_month_and_only_with_ner(ner_engine):
    said = "Please tell Sarah Johnson that RX7Q2K is for May 2nd"
    artifacts = ner_engine.process_text(said, "en")

    def names(ner: bool) -> list[str]:
        return [said[r.start:r.end] for recogniser in build_recognisers(("PERSON",), ner=ner)
                for r in recogniser.analyze(said, ["PERSON"], artifacts)]

    assert names(ner=True) == ["Sarah Johnson"]
    assert names(ner=False) == []


def test_each_finding_names_the_recogniser_and_pattern_that_made_it():
    # What Presidio's decision process shows when a redaction has to be traced to its rule.
    said = ("ssn 123-45-6789 or 123456789, dial 00999123456789 or 555 123 4567, born 14 March 1987, "
            'at 221B Baker Street, my name is Jane Doe {"patient_name": "Oisin Ryan"}')
    made = {(r.recognition_metadata["recognizer_name"], r.analysis_explanation.pattern_name)
            for recogniser in build_recognisers(KINDS, ner=False)
            for r in recogniser.analyze(said, recogniser.supported_entities, None)
            if r.analysis_explanation.pattern_name}
    assert made == {
        ("SsnRecognizer", "SSN separated"), ("SsnRecognizer", "SSN bare"),
        ("DialledNumberRecognizer", "international prefix and digits"),
        ("DialledNumberRecognizer", "North American shape"),
        ("DateOfBirthRecognizer", "day month year"),
        ("AddressRecognizer", "house number and street"),
        ("IntroducedNameRecognizer", "introduced name"),
        ("KeyedValueRecognizer(PERSON)", "PERSON key"),
    }


def test_a_pattern_is_compiled_with_its_recognisers_flags_the_first_time_it_runs():
    from presidio_analyzer import Pattern

    from distillery_cleaner.domain.recognisers import Patterns

    fresh = Patterns(supported_entity="PERSON", patterns=[Pattern("word", "ann", 0.5)],
                     global_regex_flags=regex.IGNORECASE)
    assert [(r.start, r.end) for r in fresh.analyze("ANN and Ann", [])] == [(0, 3), (8, 11)]


def test_a_pattern_recogniser_skips_empty_matches_and_a_pattern_that_times_out(monkeypatch):
    """``Patterns`` keeps Presidio's two guards: a pattern matching nothing finds nothing there, and
    a pattern that backtracks past the regex timeout is skipped for that text, with a warning,
    while the recogniser's other patterns still find what they find."""
    from presidio_analyzer import Pattern
    from structlog.testing import capture_logs

    from distillery_cleaner.domain import recognisers
    from distillery_cleaner.domain.recognisers import Patterns

    optional = Patterns(supported_entity="PHONE_NUMBER", patterns=[Pattern("digits or none", r"\d*", 0.5)])
    assert [(r.start, r.end) for r in optional.analyze("ab 12 c", [])] == [(3, 5)]

    monkeypatch.setattr(recognisers, "REGEX_TIMEOUT_SECONDS", 0.05)
    slow = Patterns(supported_entity="PHONE_NUMBER", patterns=[
        Pattern("catastrophic", r"(a|aa)+$", 0.5), Pattern("seven digits", r"\d{7}", 0.5)])
    text = "a" * 40 + " 0871234"
    with capture_logs() as logs:
        found = slow.analyze(text, [])
    assert [(r.start, r.end) for r in found] == [(len(text) - 7, len(text))]
    assert logs == [{"event": "a personal-data pattern timed out; skipped for this text", "log_level": "warning",
                     "recogniser": "Patterns", "pattern": "catastrophic", "timeout_s": 0.05}]


_AT_THE_SCREENS_EDGES = [
    "I live at Hauptstraße 12 in Berlin", "Lindenweg 4a, Köln", "we are at 9 bis, rue de la Paix",
    "12, avenue Victor Hugo", "flat 3, 221B Baker Street", "at 14 3rd Street", "London SW1A 1AA",
    "my iban is ie29 aibk 9311 5212 3456 78", "IBAN: DE89-3704-0044-0532-0130-00",
    "NI number AB123456C", "NI number j k 02 43 57 a", "Anna Quinn here", "It's Chloe Keane speaking",
    "hi, this is Ms Byrne calling", "my name is Jane Doe", "name:\tOisin",
    '{"patient_name" : "Oisin Ryan"}', '{"mobile":"0871234567"}', '{"e-mail": "ann at home"}',
    '{"date_of_birth": "2 March 1984"}', '{"postCode":"D02 X285"}', '{"name": "a\\"b"}',
    "card 4111-1111-1111-1111", "card 4111 1111 1111 1111", "ssn 123-45-6789", "ssn 123 45 6789",
    "NI AB 12 34 56 C", "call (555) 123 4567", "call 555 123 4567", "call +353871234567",
]


def test_no_recogniser_screens_out_a_text_it_would_find_something_in():
    """The cheap looks before a recogniser or one of its patterns runs (``may_hold``,
    ``Patterns.needs``) only save time: with them each recogniser finds exactly what it finds
    without them, on every labelled utterance, tool arguments holding every kind and texts at
    each screen's edge (rewritten for detection and as written), and every screened pattern
    finds something there (so a screen that turned away a text it should not would show)."""
    import copy

    from distillery_cleaner.domain.recognisers import Patterns, Screened
    from distillery_cleaner.domain.spoken import rewrite_for_detection
    from distillery_cleaner.pii_evaluation import load_utterances

    # The edge texts also as written: a screen must hold for any text, not only for what the
    # rewriting leaves (it turns "123-45-6789" into "123 45 6789").
    texts = [*(rewrite_for_detection(t).text for t in [*(u.text for u in load_utterances("all")), *_AT_THE_SCREENS_EDGES]),
             *_AT_THE_SCREENS_EDGES]
    screened_patterns, found_by = set(), set()
    for recogniser in build_recognisers(KINDS, ner=False):
        bare = copy.copy(recogniser)
        if isinstance(recogniser, Patterns):
            screened_patterns |= {(recogniser.name, name) for name in recogniser.needs}
            bare.needs = {}
        if isinstance(recogniser, Screened):
            screened_patterns.add((recogniser.name, None))

            def unscreened(text, bare=bare):
                found = super(Screened, bare).analyze(bare.readable(text), bare.supported_entities, None)
                return [r for r in found if bare.keeps(text, r)]
        else:
            def unscreened(text, bare=bare):
                return bare.analyze(text, bare.supported_entities, None)
        for text in texts:
            found = recogniser.analyze(text, recogniser.supported_entities, None)
            assert [(r.start, r.end, r.score) for r in found] == [
                (r.start, r.end, r.score) for r in unscreened(text)], (recogniser.name, text)
            for r in found:
                found_by |= {(recogniser.name, None), (recogniser.name, r.analysis_explanation.pattern_name)}
    assert len(screened_patterns) >= 19
    assert screened_patterns <= found_by, screened_patterns - found_by

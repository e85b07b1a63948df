"""Presidio recognisers for what callers say on the phone, where Presidio has none or too few.

Presidio's own recognisers are used where they fit (Luhn-checked cards, mod-97 IBANs, email
addresses, phone numbers through Google's libphonenumber, UK NI numbers, spaCy's PERSON
entities); this module adds, through Presidio's extension point (``PatternRecognizer``):

- dates of birth, said or typed, but only after words that make them one ("born",
  "date of birth", "DOB"): an appointment date is not personal data and must survive;
- street addresses (UK/US "221B Baker Street", German "Hauptstraße 12", French
  "9 rue de la Paix", UK postcodes);
- names introduced by the caller ("my name is ...", "... speaking"), which the small
  NER model misses in short, lower-context turns;
- US social security numbers checked against the SSA's allocation rules (python-stdnum),
  since Presidio's own accepts only some separators and scores a bare one too low;
- every recogniser reads the text that ``domain.spoken`` rewrote, so spoken digits and
  addresses reach them already written.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import regex
import tldextract
from stdnum.us import ssn as stdnum_ssn

from distillery_cleaner.domain.presidio import (
    REGEX_TIMEOUT_SECONDS,
    CreditCardRecognizer,
    EmailRecognizer,
    EntityRecognizer,
    IbanRecognizer,
    NlpArtifacts,
    Pattern,
    PatternRecognizer,
    PhoneRecognizer,
    RecognizerResult,
    SpacyRecognizer,
    UkNinoRecognizer,
)
from distillery_runtime.logs import get_logger

PRESIDIO_KIND = {
    "CREDIT_CARD": "CARD", "IBAN_CODE": "IBAN", "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE",
    "US_SSN": "SSN", "UK_NINO": "NINO", "PERSON": "PERSON", "DATE_OF_BIRTH": "DATE_OF_BIRTH",
    "ADDRESS": "ADDRESS",
}
"""Presidio's entity names → the cleaner's kinds (the placeholder is ``<KIND>``)."""

PHONE_REGIONS = ("GB", "IE", "US", "DE")
"""Regions whose national formats (no +country prefix) are read as phone numbers: the
reference clinic's callers. Each region is one more pass of libphonenumber over the text."""

log = get_logger(__name__)

_CASE_SENSITIVE = regex.DOTALL | regex.MULTILINE
_OFFLINE_TLDS = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
"""The public suffix list bundled with tldextract: the default fetches it at run time."""


class Screened(EntityRecognizer):
    """The one way these recognisers change Presidio's: a cheap look at the text before the
    recogniser runs (``may_hold``), the text it reads (``readable``), and a check of each of its
    findings (``keeps``). Presidio's engine passes the text, the entities and the NLP artifacts;
    its ``regex_flags`` is never given, so the recogniser's own flags apply."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None,
                regex_flags: int | None = None) -> list[RecognizerResult]:
        if not self.may_hold(text):
            return []
        # Presidio types the artifacts as always given; its pattern and phone recognisers take None.
        found = super().analyze(self.readable(text), entities, nlp_artifacts)  # type: ignore[arg-type]
        return [r for r in found if self.keeps(text, r)]

    def may_hold(self, text: str) -> bool:
        """False only where no finding could be kept: the recogniser is not run."""
        return True

    def readable(self, text: str) -> str:
        return text

    def keeps(self, text: str, result: RecognizerResult) -> bool:
        return True


class Patterns(PatternRecognizer):
    """Presidio's pattern recogniser, finding the same, without its bookkeeping per pattern.

    Presidio's loop times each pattern for a debug line and takes the overlaps out of each
    recogniser's findings, which the cleaner's redactor does once over all of them; on the
    cleaner's short texts that was a sixth of the recognisers' time. The matching is Presidio's:
    its compiled patterns, its regex timeout (a pattern that times out is skipped with a
    warning, as Presidio does), ``validate_result`` and ``invalidate_result``, its scores and
    explanations (``tests/test_pii_detection.py`` compares the two).
    """

    name: str
    patterns: list[Pattern]
    needs: dict[str, str] = {}  # never changed in place: a recogniser with screens assigns its own
    """Per pattern name, a cheaper regex (the pattern's flags) that finds something in every
    text where the pattern does: the pattern is not run over a text where it finds nothing.
    ``tests/test_recognisers.py`` checks that no finding is lost."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None,
                regex_flags: int | None = None) -> list[RecognizerResult]:
        flags: int = regex_flags or self.global_regex_flags or 0
        results = []
        for pattern in self.patterns:
            if pattern.name in self.needs and _compiled(self.needs[pattern.name], flags).search(text) is None:
                continue
            compiled: Any = pattern.compiled_regex  # Presidio types its cache as None
            if compiled is None or pattern.compiled_with_flags != flags:
                compiled = regex.compile(pattern.regex, flags=flags)
                pattern.compiled_regex, pattern.compiled_with_flags = compiled, flags  # type: ignore[assignment]
            try:
                for match in compiled.finditer(text, timeout=REGEX_TIMEOUT_SECONDS):
                    start, end = match.span()
                    if start == end:
                        continue
                    score = pattern.score
                    found = text[start:end]
                    valid = self.validate_result(found)
                    if valid is not None:
                        score = self.MAX_SCORE if valid else self.MIN_SCORE
                    if self.invalidate_result(found):
                        score = self.MIN_SCORE
                    # A finding scored zero is kept here: the engine's remove_duplicates drops it.
                    results.append(self.finding(pattern, start, end, score, valid, flags))
            except TimeoutError:
                log.warning("a personal-data pattern timed out; skipped for this text", recogniser=self.name,
                            pattern=pattern.name, timeout_s=REGEX_TIMEOUT_SECONDS)
        return results

    def finding(self, pattern: Pattern, start: int, end: int, score: float, valid: bool | None,
                flags: int) -> RecognizerResult:
        """What ``pattern`` found at ``start:end``, named and explained as Presidio's loop does: the
        explanation keeps the pattern's own score and says the one validation left."""
        explanation = self.build_regex_explanation(  # None as Presidio's own loop passes
            self.name, pattern.name, pattern.regex, pattern.score, valid, flags)  # type: ignore[arg-type]
        explanation.score = score
        return RecognizerResult(
            self.supported_entities[0], start, end, score, analysis_explanation=explanation,
            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id})


@functools.cache
def _compiled(pattern: str, flags: int) -> Any:
    return regex.compile(pattern, flags=flags)


_ANY_DIGIT = re.compile(r"\d")


class DigitsRequired(Screened):
    """A recogniser every pattern of which needs a digit: not run over a text without one (most
    of what callers and the agent say; spoken digits are written by then)."""

    def may_hold(self, text: str) -> bool:
        return _ANY_DIGIT.search(text) is not None


class DigitPatternRecognizer(DigitsRequired, Patterns):
    """Presidio's pattern recogniser, for patterns that all need a digit."""


_SIX_CHAINED_DIGITS = re.compile(r"\d(?:[- ]?\d){5}")
"""Six digits, each at most one dash or space from the last: what every card, social security,
NI and dialled number holds (13, 9, 6 and 11 digits in groups split by one dash or space; a
North American shape ends in seven, "123 4567")."""


@functools.lru_cache(maxsize=4)
def _has_digit_run(text: str) -> bool:
    """Whether ``text`` holds six chained digits; asked by four recognisers in a row of the
    same text, so the answer is kept for the last few texts."""
    return _SIX_CHAINED_DIGITS.search(text) is not None


class DigitRunRequired(Screened):
    """A recogniser every pattern of which needs six chained digits (``_SIX_CHAINED_DIGITS``):
    not run over the many texts whose digits are times, dates, prices and booking references."""

    def may_hold(self, text: str) -> bool:
        return _has_digit_run(text)


class DigitRunPatternRecognizer(DigitRunRequired, Patterns):
    """Presidio's pattern recogniser, for patterns that all need six chained digits."""


class OfflineEmailRecognizer(Screened, Patterns, EmailRecognizer):
    """Presidio's email recogniser, validating the domain against the bundled suffix list;
    run only on a text with an "@", which every address it matches has."""

    def may_hold(self, text: str) -> bool:
        return "@" in text

    def validate_result(self, pattern_text: str) -> bool:
        return _OFFLINE_TLDS(pattern_text).fqdn != ""


class CardRecognizer(DigitRunRequired, Patterns, CreditCardRecognizer):
    """Presidio's Luhn-checked card recogniser, with Mastercard's 2221-2720 range too."""

    PATTERNS = [
        Pattern(
            "Cards incl. Mastercard 2-series",
            r"\b(?!1\d{12}(?!\d))((4\d{3})|(5[0-5]\d{2})|(2[2-7]\d{2})|(6\d{3})|(1\d{3})|(3\d{3}))"
            r"[- ]?(\d{3,4})[- ]?(\d{3,4})[- ]?(\d{3,5})\b",
            0.3,
        ),
    ]
    """Presidio's card recogniser reads the class's ``PATTERNS`` when given none."""


_PHONE_PUNCTUATION = "-x\u2010-\u2015\u2212\u30fc\uff0d-\uff0f \u00a0\u00ad\u200b\u2060\u3000()\uff08\uff09\uff3b\uff3d.\\[\\]/~\u2053\u223c\uff5e"
"""What libphonenumber's matcher lets stand between a number's digits (its VALID_PUNCTUATION):
not ':' (times) nor ',' (prices, lists), so "09:00 to 18:00" holds no candidate."""
_EXTENSION = r"(?:;ext=|e?xtn?|extension|ext|anexo|int|доб|#|ｘ)"
"""What libphonenumber reads as the start of an extension (its extension labels), whose digits
are part of the number it finds: "030000 ext 0" is a seven-digit finding."""
_SEVEN_CHAINED_DIGITS = re.compile(
    rf"\d(?:(?:[{_PHONE_PUNCTUATION}]{{0,4}}|[{_PHONE_PUNCTUATION}]*{_EXTENSION}\.?[{_PHONE_PUNCTUATION}]*)\d){{6}}",
    re.IGNORECASE)
"""Seven digits, each at most four of those characters from the last, or an extension label: the
matcher's candidates are digit blocks joined by up to four of them, with an extension after, so a
text without this run holds none that long."""
MIN_PHONE_DIGITS = 7
"""The shortest number a caller gives (GB and IE numbers have 7 digits or more, US 10). German
metadata allows 4-6 digit local numbers, which would take booking references, years and
amounts ("1687", "069856") for phone numbers; a number said with its area code is longer."""


class ShortCircuitPhoneRecognizer(Screened, PhoneRecognizer):
    """libphonenumber's numbers of at least seven digits; its matcher (one pass per region: half
    of the analysis time) runs only over a text where it could find such a candidate. Opening
    hours, slots and prices have many digits but no such run, so they skip it."""

    def may_hold(self, text: str) -> bool:
        return bool(_SEVEN_CHAINED_DIGITS.search(text))

    def keeps(self, text: str, result: RecognizerResult) -> bool:
        return sum(c.isdigit() for c in text[result.start:result.end]) >= MIN_PHONE_DIGITS


class CaseBlindIbanRecognizer(Screened, IbanRecognizer):
    """Presidio's IBAN recogniser (ISO 13616 mod-97 and each country's layout), on typed lower case too."""

    def may_hold(self, text: str) -> bool:
        """Only where the start of Presidio's pattern stands, in either case: its loop looks for
        nothing else, and costs eight times this search (it looks its pattern up for each text)."""
        return _IBAN_START.search(text) is not None

    def readable(self, text: str) -> str:
        return text.translate(_ASCII_UPPER)


_IBAN_START = re.compile(r"[A-Za-z]{2}[0-9]{2}(?:[ -]?[A-Za-z0-9]{4}){2}")
"""How every IBAN Presidio's pattern finds begins: country, check digits, two groups of four."""
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class SsnRecognizer(DigitRunRequired, Patterns):
    """US social security numbers the SSA can have issued (stdnum: no 000, 666, 9xx areas...).

    Nine digits with no separator are taken only when the turn speaks of a social security
    number: alone they are more often an order number.
    """

    CONTEXT = regex.compile(r"\b(?:ssn|social(?: security)?|security number)\b", regex.IGNORECASE)

    def __init__(self) -> None:
        super().__init__(supported_entity="US_SSN", patterns=[  # named after the class by Presidio
            Pattern("SSN separated", r"(?<![\w-])\d{3}([- ])\d{2}\1\d{4}(?![\w-])", 0.6),
            Pattern("SSN bare", r"(?<![\w-])\d{9}(?![\w-])", 0.6),
        ])

    def validate_result(self, pattern_text: str) -> bool:
        return bool(stdnum_ssn.is_valid(pattern_text.replace(" ", "-")))

    def keeps(self, text: str, result: RecognizerResult) -> bool:
        return not text[result.start:result.end].isdigit() or bool(self.CONTEXT.search(text))


class NinoRecognizer(DigitRunRequired, Patterns, UkNinoRecognizer):
    """UK National Insurance numbers, also with the two prefix letters spelled apart (J K ...).

    Neither prefix letter can be D, F, I, Q, U or V, so HMRC's example prefix QQ is never found.
    """

    PATTERNS = [
        Pattern(
            "NINO",
            r"\b(?!bg|gb|nk|kn|nt|tn|zz)([a-ceghj-pr-tw-z]) ?([a-ceghj-npr-tw-z]) ?([0-9]{2}) ?([0-9]{2}) ?"
            r"([0-9]{2}) ?([a-d])\b",
            0.5,
        )
    ]
    """Presidio's NI number recogniser reads the class's ``PATTERNS`` when given none."""
    needs = {"NINO": r"[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[a-d]"}


class ContextRecognizer(Screened, Patterns):
    """A pattern that counts only after one of its context words, within ``window`` characters.

    Presidio's context enhancement raises a score when a context word is near; here the
    context decides: a date is a date of birth only when the caller says so.
    """

    def __init__(self, entity: str, name: str, patterns: list[Pattern], context: str, window: int) -> None:
        # Presidio's default flags: case-blind, as callers type and transcripts write.
        super().__init__(supported_entity=entity, name=name, patterns=patterns)
        self.required_context = regex.compile(context, regex.IGNORECASE)
        self.window = window

    def may_hold(self, text: str) -> bool:
        return bool(self.required_context.search(text))

    def keeps(self, text: str, result: RecognizerResult) -> bool:
        return bool(self.required_context.search(text, max(0, result.start - self.window), result.start))


_MONTHS = (r"(?:january|february|march|april|may|june|july|august|september|october|november|december|"
           r"jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?")
_UNITS = "one|two|three|four|five|six|seven|eight|nine"
_TEENS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_ORDINAL_UNITS = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth"
_ORDINAL = (rf"(?:(?:twenty|thirty)[- ]?(?:{_ORDINAL_UNITS})|{_ORDINAL_UNITS}|tenth|eleventh|twelfth|"
            r"thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth)")
_DAY = rf"(?:\d{{1,2}}(?:st|nd|rd|th)?|{_ORDINAL})"
_TWO_DIGITS_SPOKEN = rf"(?:(?:{_TENS})(?:[- ](?:{_UNITS}))?|{_TEENS}|oh[- ](?:{_UNITS}))"
_YEAR = (rf"(?:\d{{4}}|['’]\d{{2}}|(?:nineteen|twenty)[- ]{_TWO_DIGITS_SPOKEN}|(?:nineteen|twenty)[- ]hundred|"
         rf"two thousand(?:(?: and)? (?:{_TWO_DIGITS_SPOKEN}|{_UNITS}))?|{_TWO_DIGITS_SPOKEN}|\d{{2}})")
_DOB_PATTERNS = [
    Pattern("day month year", rf"\b(?:(?:on )?the )?{_DAY}(?: of)? {_MONTHS},? {_YEAR}\b", 0.9),
    Pattern("month day year", rf"\b{_MONTHS} (?:the )?{_DAY},? {_YEAR}\b", 0.9),
    Pattern("day of the month year", rf"\b(?:the )?{_DAY} of the {_ORDINAL},? {_YEAR}\b", 0.9),
    Pattern("numeric", r"\b(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}-\d{1,2}-\d{1,2})\b", 0.9),
]

_STREET = (r"(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|close|way|crescent|cres|place|pl|terrace|"
           r"court|ct|boulevard|blvd|gardens|grove|square|sq|hill|row|mews|parade|walk|green|rise|highway|hwy)")
_WORD = r"(?-i:\p{Lu}[\p{L}'’.-]*|\d+(?:st|nd|rd|th))"
_UK_POSTCODE = r"(?-i:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})"
_GERMAN_STREET = r"(?:straße|strasse|str\.|weg|allee|gasse|platz|ring|damm)"
_FRENCH_STREET = r"(?:rue|avenue|boulevard|bd|place|allée|chemin|impasse|quai)"
_FRENCH_NUMBER = r"(?: ?bis| ?ter)?,? "
# Scores above spaCy's 0.85: where an address or a date of birth overlaps a PERSON entity
# ("221B Baker Street"), the pattern's kind is the better one.
_ADDRESS_PATTERNS = [
    Pattern("house number and street", (
        rf"(?:\b(?:flat|apartment|apt|unit|suite)\.? ?\d+[a-z]?,? )?\b\d{{1,5}}[a-z]?,? (?:{_WORD} ){{1,3}}"
        rf"{_STREET}\b\.?(?:,? (?-i:\p{{Lu}}\p{{Ll}}+)(?: (?-i:\p{{Lu}}\p{{Ll}}+))? {_UK_POSTCODE}\b|,? {_UK_POSTCODE}\b)?"
    ), 0.9),
    Pattern("German street and number",
            rf"\b(?-i:\p{{Lu}})\p{{L}}*?{_GERMAN_STREET} \d{{1,4}} ?[a-z]?\b", 0.9),
    Pattern("French number and street",
            rf"\b\d{{1,4}}{_FRENCH_NUMBER}{_FRENCH_STREET} "
            r"(?:(?:de la|de|du|des|d['’]) ?)?(?-i:\p{Lu}[\p{L}'’-]*)(?: (?-i:\p{Lu}[\p{L}'’-]*)){0,2}", 0.9),
    Pattern("UK postcode", rf"\b{_UK_POSTCODE}\b", 0.5),
]
_ADDRESS_NEEDS = {
    "house number and street": r"\d[a-z]?,? (?-i:\p{Lu}|\d)",
    "German street and number": rf"{_GERMAN_STREET} \d",
    "French number and street": rf"\d{_FRENCH_NUMBER}{_FRENCH_STREET} ",
}


class AddressRecognizer(DigitPatternRecognizer):
    """Street addresses and UK postcodes; each street pattern runs only where its number and
    first word, or its street word and number, stand together."""

    needs = _ADDRESS_NEEDS

    def __init__(self) -> None:
        super().__init__(supported_entity="ADDRESS", patterns=_ADDRESS_PATTERNS)  # named after its class


_NAME_WORD = r"\p{Lu}[\p{Ll}'’-]*(?:\p{Lu}[\p{Ll}'’-]*)?"
_PARTICLE = r"(?:Ní|Nic|Mac|bin|binti|al|el|van|von|de|del|da|di|le|la|ter)"
_NAME = rf"{_NAME_WORD}(?: (?:{_PARTICLE} )?{_NAME_WORD}){{0,2}}"
_INTRODUCED = (r"(?i:my name is|my name's|name's|name is|this is|it's|it is|i'm|i am|name:|patient name|patient:|"
               r"surname(?: is)?|last name(?: is)?|first name(?: is)?|family name(?: is)?|calling for|"
               r"booking for|appointment for|(?:it|that|this)(?:'s| is) for|account is under|under the name(?: of)?|cardholder is|"
               r"(?:my|her|his) (?:son|daughter|mother|mum|mom|father|dad|wife|husband|partner|child),?)")
_NAME_PATTERNS = [
    Pattern("introduced name", rf"(?<=(?:^|[\s,.;:!?]){_INTRODUCED} )(?-i:{_NAME})\b", 0.7),
    Pattern("name then here/speaking", rf"(?-i:(?<![\w'’-]){_NAME})(?= (?i:here|speaking|calling)\b)", 0.6),
]
_NOT_NAMES = regex.compile(
    r"^(?:I|I'm|It|It's|The|This|That|Yes|Yeah|No|Ok|Okay|Hi|Hello|Hey|Thanks|Please|Sorry|Sure|Just|"
    r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Today|Tomorrow|Dr|Doctor|Nurse|Mr|Mrs|Ms|"
    r"January|February|March|April|May|June|July|August|September|October|November|December)\b")


class IntroducedNameRecognizer(Patterns):
    """Names the caller introduces; sentence starters and weekdays that follow "it's" are not names."""

    def __init__(self) -> None:
        super().__init__(supported_entity="PERSON", patterns=_NAME_PATTERNS, global_regex_flags=_CASE_SENSITIVE)
        self.needs = {"name then here/speaking": r" (?i:here|speaking|calling)\b"}

    def invalidate_result(self, pattern_text: str) -> bool:
        return bool(_NOT_NAMES.match(pattern_text))


_NOT_A_NAME = regex.compile(
    r"\d|^(?:january|february|march|april|may|june|july|august|september|october|november|december|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)$", regex.IGNORECASE)


class NerNameRecognizer(Screened, SpacyRecognizer):
    """spaCy's PERSON entities, less what the small model takes for names: codes with digits
    ("RX7Q2K"), months and weekdays alone ("for May 2nd")."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON"])

    def keeps(self, text: str, result: RecognizerResult) -> bool:
        return not _NOT_A_NAME.search(text[result.start:result.end])


_PERSON_WORDS = (r"patient|caller|customer|client|contact|guardian|parent|child|spouse|partner|member|holder|"
                 r"card_?holder|account_?holder|policy_?holder|next_?of_?kin|emergency_?contact|person|owner|"
                 r"recipient|beneficiary")
_NAME_PARTS = r"full|first|last|given|family|middle|maiden|sur|fore|christian|nick"
_VALUE_KEYS = {
    "PERSON": rf"(?:(?:{_PERSON_WORDS})[_-]?)?(?:(?:{_NAME_PARTS})[_-]?)?name|{_PERSON_WORDS}",
    "DATE_OF_BIRTH": r"dob|d_?o_?b|date[_-]?of[_-]?birth|birth[_-]?date|birth[_-]?day|born(?:[_-]?on)?",
    "PHONE_NUMBER": r"(?:\w+[_-]?)?(?:phone|mobile|telephone|tel|cell)(?:[_-]?(?:number|no|num))?",
    "EMAIL_ADDRESS": r"(?:\w+[_-]?)?e[_-]?mail(?:[_-]?address)?",
    "ADDRESS": r"(?:(?:home|street|postal|mailing|billing|residential|patient)[_-]?)?address(?:[_-]?line[_-]?\d)?|"
               r"street|post[_-]?code|postal[_-]?code|zip(?:[_-]?code)?|eircode",
}
"""Keys of structured data (tool-call arguments, tool results) whose value is all personal data,
case-blind, words joined by ``_``, ``-`` or camelCase: ``patient_name``, ``firstName``, ``dob``."""


class KeyedValueRecognizer(Screened, Patterns):
    """The value of a JSON key that names personal data (``"patient_name": "Oisin Ryan"``), however
    little context the value has for the other recognisers: a name alone in a booking tool's
    arguments is no sentence, and spaCy's model finds half of them. String values only: the
    placeholder then stays inside the quotes, and the arguments stay JSON.

    Its pattern (a look-behind for the key) says what it finds; it is not run. One pass over the
    text finds every key with a string value (:func:`_string_values`), shared by the five of
    them, and each takes the values of its own keys: on a tool result, 64 µs became 19.
    ``tests/test_recognisers.py`` checks the two find the same.
    """

    def __init__(self, entity: str) -> None:
        key, value = rf'"(?i:{_VALUE_KEYS[entity]})"\s*:\s*"', r'(?:[^"\\\n]|\\.)'
        super().__init__(supported_entity=entity, name=f"KeyedValueRecognizer({entity})", patterns=[
            Pattern(f"{entity} key", rf'(?<={key}){value}+(?=")', 0.9),
        ], global_regex_flags=_CASE_SENSITIVE)
        key_names_it = regex.compile(rf"(?i:{_VALUE_KEYS[entity]})").fullmatch
        # The same few keys come in every tool call: each is matched once.
        self.names_it = functools.lru_cache(maxsize=4096)(lambda key: key_names_it(key) is not None)

    def may_hold(self, text: str) -> bool:
        # Not '":' alone: the key's quote and the colon may have any white space between.
        return '"' in text and ":" in text

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None,
                regex_flags: int | None = None) -> list[RecognizerResult]:
        if not self.may_hold(text):
            return []
        pattern = self.patterns[0]
        return [self.finding(pattern, start, end, pattern.score, None, _CASE_SENSITIVE)
                for key, start, end in _string_values(text) if self.names_it(key)]


_KEY_AND_STRING = regex.compile(r'"([^"\\\n]*)"\s*:\s*"((?:[^"\\\n]|\\.)+)(?=")', _CASE_SENSITIVE)
"""A key between quotes, a colon and a string value: its characters up to the closing quote."""


@functools.lru_cache(maxsize=4)
def _string_values(text: str) -> tuple[tuple[str, int, int], ...]:
    """Each key in ``text`` with a string value, and the span of the value; asked by the five
    keyed recognisers in a row of the same text. Matches may overlap: a value that itself reads
    like a key (``"a": "name": "Bob"``) must not hide the key after it, as the look-behind's
    search would not."""
    return tuple((m.group(1), m.start(2), m.end(2)) for m in _KEY_AND_STRING.finditer(text, overlapped=True))


def build_recognisers(kinds: tuple[str, ...], ner: bool) -> list[EntityRecognizer]:
    """The recognisers of the configured kinds; spaCy's PERSON only when NER is on."""
    wanted = set(kinds)
    chosen: list[tuple[str, Any]] = [
        ("EMAIL", OfflineEmailRecognizer()),
        ("IBAN", CaseBlindIbanRecognizer()),
        ("CARD", CardRecognizer()),
        ("SSN", SsnRecognizer()),
        ("NINO", NinoRecognizer()),
        ("PHONE", ShortCircuitPhoneRecognizer(supported_regions=PHONE_REGIONS)),
        ("PHONE", DigitRunPatternRecognizer(supported_entity="PHONE_NUMBER", name="DialledNumberRecognizer", patterns=[
            Pattern("international prefix and digits", r"(?<![\w+])(?:\+|00)[1-9]\d{8,13}(?![\w])", 0.5),
            # Shaped like a North American number though not a valid one (555-123-4567): what a
            # caller gives as their number, or a transcript garbles, is still theirs.
            Pattern("North American shape", r"(?<![\w+])\(?\d{3}\)? ?\d{3} \d{4}(?![\w])", 0.4)])),
        ("DATE_OF_BIRTH", ContextRecognizer(
            "DATE_OF_BIRTH", "DateOfBirthRecognizer", _DOB_PATTERNS,
            context=r"\b(?:born|birth|dob|d\.o\.b\.?|birthday|b-day)", window=48)),
        ("ADDRESS", AddressRecognizer()),
        ("PERSON", IntroducedNameRecognizer()),
        *((PRESIDIO_KIND[entity], KeyedValueRecognizer(entity)) for entity in _VALUE_KEYS),
    ]
    if ner:
        chosen.append(("PERSON", NerNameRecognizer()))
    return [recogniser for kind, recogniser in chosen if kind in wanted]

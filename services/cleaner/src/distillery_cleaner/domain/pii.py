"""Personal identifiers in message text, replaced by typed placeholders (``<PHONE>``, ...).

Each kind is a pattern plus a validator, so that only real identifiers are touched: card
numbers must pass the Luhn check, IBANs their country's length and the ISO 13616 mod-97
check (both through python-stdnum), US social security numbers the SSA's allocation
rules, UK National Insurance numbers the HMRC prefix rules. Phone numbers are the loosest
kind: international (+353 87 123 4567, 0044 20 7946 0958), local (087 123 4567,
(01) 234 5678, 555-123-4567) and spoken digit by digit (0 8 7 1 2 3 4 5 6 7); dates,
times and prices are not phone numbers.

Kinds are matched in a fixed order (email, IBAN, card, SSN, NINO, phone) so that a card
number inside a longer digit run is not also counted as a phone. Values never leave this
module: callers get the redacted text and counts per kind.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from functools import lru_cache

from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.us import ssn as stdnum_ssn

from distillery_cleaner.domain.config import PiiConfig

Counts = tuple[tuple[str, int], ...]
"""Redactions per kind, sorted by kind (hashable, so results can be cached)."""

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b", re.IGNORECASE)
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_SSN = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")
_NINO = re.compile(
    r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
    re.IGNORECASE,
)
_PHONE = re.compile(
    r"(?<![\w+])(?:\+|00)?(?:\(\d{1,4}\)|\d)(?:[ .\-]{0,3}(?:\(\d{1,4}\)|\d)){6,18}(?![\w])"
)
_DATE_LIKE = re.compile(r"^(\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$")
_MAY_HOLD_PII = re.compile(r"[\d@]")
_NOT_DIGIT = re.compile(r"\D")
_NOT_ALNUM = re.compile(r"[\W_]")
_PHONE_SEPARATOR = re.compile(r"[ .\-()]")


def _iban_ok(value: str) -> bool:
    return stdnum_iban.is_valid(value.upper())


def _card_ok(value: str) -> bool:
    digits = _NOT_DIGIT.sub("", value)
    return 13 <= len(digits) <= 19 and luhn.is_valid(digits)


def _ssn_ok(value: str) -> bool:
    return stdnum_ssn.is_valid(value)


def _phone_ok(value: str) -> bool:
    digits = _NOT_DIGIT.sub("", value)
    if not 7 <= len(digits) <= 15 or _DATE_LIKE.match(value):
        return False
    if value.startswith(("+", "00")) or len(digits) >= 9:
        return True
    # Seven or eight digits pass only when written like a number: grouped, or with a
    # trunk prefix (555-1234, 01 234 567); a bare 8-digit run is more often a reference.
    return bool(_PHONE_SEPARATOR.search(value)) or digits.startswith("0")


_DETECTORS: tuple[tuple[str, re.Pattern[str], Callable[[str], bool]], ...] = (
    ("EMAIL", _EMAIL, lambda value: True),
    ("IBAN", _IBAN, _iban_ok),
    ("CARD", _CARD, _card_ok),
    ("SSN", _SSN, _ssn_ok),
    ("NINO", _NINO, lambda value: True),  # the pattern encodes every published rule
    ("PHONE", _PHONE, _phone_ok),
)


def _shrinking(value: str) -> list[str]:
    """The value, then without its last space-separated group (a word the pattern took)."""
    parts = value.rsplit(" ", 1)
    return [value, parts[0]] if len(parts) == 2 else [value]


class PiiRedactor:
    """Replaces the configured kinds of identifiers in text; results are cached per text.

    The turns of a call repeat the messages before them, and every call repeats the
    system prompt, so most texts have been seen before.
    """

    def __init__(self, config: PiiConfig, cache_size: int = 65_536) -> None:
        self.config = config
        self._detectors = [d for d in _DETECTORS if d[0] in config.kinds]
        self._allowed_words = {_NOT_ALNUM.sub("", v).lower() for v in config.allow}
        self._allowed_digits = {
            d.lstrip("0") for d in (_NOT_DIGIT.sub("", v) for v in config.allow) if len(d) >= 7
        }
        self.redact = lru_cache(maxsize=cache_size)(self._redact)

    def _redact(self, text: str) -> tuple[str, Counts]:
        """``text`` with identifiers replaced, and how many of each kind were replaced."""
        if not text or not _MAY_HOLD_PII.search(text):
            return text, ()
        counts: Counter[str] = Counter()
        for kind, pattern, valid in self._detectors:
            text = pattern.sub(self._replacer(kind, valid, counts), text)
        return text, tuple(sorted(counts.items()))

    def _replacer(self, kind: str, valid: Callable[[str], bool],
                  counts: Counter[str]) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            value = match.group(0)
            for candidate in _shrinking(value) if kind == "IBAN" else [value]:
                if valid(candidate) and not self._allowed(kind, candidate):
                    counts[kind] += 1
                    return f"<{kind}>" + value[len(candidate):]
            return value

        return replace

    def _allowed(self, kind: str, value: str) -> bool:
        if _NOT_ALNUM.sub("", value).lower() in self._allowed_words:
            return True
        if kind != "PHONE":
            return False
        # A business number is written both ways: +353 1 555 0142 and 01 555 0142.
        digits = _NOT_DIGIT.sub("", value).lstrip("0")
        return len(digits) >= 7 and any(a.endswith(digits) for a in self._allowed_digits)

"""Checkable claims in free text: prices, times, dates, phone numbers, codes, names, numbers.

Each claim carries normalised values so that paraphrases compare equal: "8 am", "8:00"
and "08:00" are all 480 minutes; "$120", "120 dollars" and "USD 120" are all 120 USD;
"ten minutes" and "10 minutes" are both 10. Spans already claimed by a more specific
kind (a time, a price) are masked before the generic number pattern runs, so "08:00"
never also yields the numbers 8 and 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_WORD_NUMBER = (
    r"(?:(?:" + "|".join(_TENS) + r")(?:[\s-](?:" + "|".join(k for k in _UNITS if _UNITS[k] < 10)
    + r"))?|" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")(?:\s+hundred)?"
)
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_AMOUNT = rf"(?:{_DIGITS}|{_WORD_NUMBER})"
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_MONTH = r"(?:" + "|".join([*(m[:3] + f"(?:{m[3:]})?" if len(m) > 3 else m for m in _MONTHS), "sept"]) + r")\.?"
"""A month, whole or cut to three letters ("Mar", "Sep."), or "Sept"."""
_CURRENCY_SIGNS = {"$": "USD", "€": "EUR", "£": "GBP"}
_CURRENCY_WORDS = {
    "dollar": "USD", "dollars": "USD", "usd": "USD", "euro": "EUR", "euros": "EUR",
    "eur": "EUR", "pound": "GBP", "pounds": "GBP", "gbp": "GBP",
}
_UNIT_WORDS = (r"(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|percent|per\s+cent"
               r"|times|seconds?|people|patients|doctors)")
_MERIDIEM = r"(?P<mer>a\.?\s?m\.?|p\.?\s?m\.?)"


@dataclass(frozen=True)
class Claim:
    """One checkable statement found in a text.

    ``values`` are normalised keys; two claims agree when they share one (a time said
    ambiguously, "8 o'clock", carries both 08:00 and 20:00). ``text`` is the span as
    written, for reports.
    """

    kind: str
    text: str
    values: frozenset[tuple]


def parse_amount(text: str) -> Decimal | None:
    """A number written in digits ("1,200.50") or words ("twenty-five", "one hundred")."""
    cleaned = text.strip().lower().replace(",", "")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        pass
    words = re.split(r"[\s-]+", cleaned)
    total = 0
    for word in words:
        if word in _UNITS:
            total += _UNITS[word]
        elif word in _TENS:
            total += _TENS[word]
        elif word == "hundred":
            total = max(total, 1) * 100
        else:
            return None
    return Decimal(total)


def _amount_key(value: Decimal) -> tuple:
    return ("amount", value.normalize())


def _time_minutes(hour: int, minute: int, meridiem: str | None) -> set[int]:
    if meridiem:
        pm = meridiem.lower().startswith("p")
        if not 1 <= hour <= 12:
            return set()
        hour = hour % 12 + (12 if pm else 0)
        return {hour * 60 + minute}
    if not 0 <= hour <= 24:
        return set()
    return {(hour % 24) * 60 + minute}


_OCLOCK = re.compile(r"o['’]?clock")
"""How the time pattern writes "o'clock", typewriter or typographic apostrophe or none."""


def _time_claim(match: re.Match[str]) -> Claim | None:
    text = match.group(0)
    lowered = text.lower()
    if lowered in ("noon", "midday"):
        return Claim("time", text, frozenset({("time", 720)}))
    if lowered == "midnight":
        return Claim("time", text, frozenset({("time", 0)}))
    hour = int(match.group("hour")) if match.group("hour") else int(parse_amount(match.group("whour")) or 0)
    minute = int(match.group("minute") or 0)
    if minute > 59:
        return None
    if _OCLOCK.search(lowered):
        minutes = {hour % 12 * 60, (hour % 12 + 12) * 60} if 1 <= hour <= 12 else set()
    else:
        minutes = _time_minutes(hour, minute, match.group("mer"))
    return Claim("time", text, frozenset(("time", m) for m in minutes)) if minutes else None


def _price_claim(match: re.Match[str]) -> Claim | None:
    groups = match.groupdict()
    amount = parse_amount(groups.get("amount_a") or groups.get("amount_b") or "")
    if amount is None:
        return None
    sign = groups.get("sign") or ""
    word = (groups.get("cword") or groups.get("pword") or "").lower()
    currency = _CURRENCY_SIGNS.get(sign) or _CURRENCY_WORDS.get(word)
    values = {("price", amount.normalize(), currency), _amount_key(amount)}
    return Claim("price", match.group(0), frozenset(values))


def _date_claim(match: re.Match[str]) -> Claim:
    groups = match.groupdict()
    if groups.get("iso_y"):
        year, month, day = int(groups["iso_y"]), int(groups["iso_m"]), int(groups["iso_d"])
        candidates = {(month, day)}
    elif groups.get("num_a"):
        a, b = int(groups["num_a"]), int(groups["num_b"])
        year = _full_year(groups["num_y"])
        candidates = {(a, b), (b, a)}  # month first or day first: whichever makes a date
    else:
        month_name = (groups.get("mon_a") or groups.get("mon_b") or "").lower()
        month = next(i for i, m in enumerate(_MONTHS, 1) if m.startswith(month_name[:3]))  # "sep", "sept."
        day = int(groups.get("day_a") or groups.get("day_b"))
        year = _full_year(groups.get("year_a") or groups.get("year_b"))
        candidates = {(month, day)}
    # A date no calendar has ("31 June", "2026-13-05") is still a claim about a date: one that no
    # reference can back. It carries no values, so it never agrees with anything.
    valid = {(m, d) for m, d in candidates if _on_the_calendar(year, m, d)}
    return Claim("date", match.group(0), frozenset(("date", m, d, year) for m, d in valid))


def _on_the_calendar(year: int | None, month: int, day: int) -> bool:
    """Whether ``day`` of ``month`` exists (in ``year``; the 29th of February in some year when None)."""
    try:
        date(2024 if year is None else year, month, day)  # 2024: a leap year
    except ValueError:
        return False
    return True


def _full_year(text: str | None) -> int | None:
    if not text:
        return None
    year = int(text)
    return year + 2000 if year < 100 else year


def _phone_claim(match: re.Match[str]) -> Claim | None:
    digits = re.sub(r"\D", "", match.group(0))
    if not 7 <= len(digits) <= 15:
        return None
    return Claim("phone", match.group(0).strip(), frozenset({("phone", digits)}))


def _code_claim(match: re.Match[str]) -> Claim:
    normalised = re.sub(r"[\s-]", "", match.group(0)).upper()
    return Claim("code", match.group(0), frozenset({("code", normalised)}))


def _name_claim(match: re.Match[str]) -> Claim:
    surname = match.group("surname").lower()
    return Claim("name", match.group(0), frozenset({("name", surname)}))


def _number_claim(match: re.Match[str]) -> Claim | None:
    amount = parse_amount(match.group("num"))
    if amount is None:
        return None
    return Claim("number", match.group(0).strip(), frozenset({_amount_key(amount)}))


_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Claim | None]], ...] = (
    (re.compile(
        r"\b(?P<iso_y>\d{4})-(?P<iso_m>\d{2})-(?P<iso_d>\d{2})\b"
        r"|\b(?P<num_a>\d{1,2})/(?P<num_b>\d{1,2})/(?P<num_y>\d{4}|\d{2})\b"
        rf"|\b(?P<day_a>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon_a>{_MONTH})(?:,?\s+(?P<year_a>\d{{4}}))?\b"
        rf"|\b(?P<mon_b>{_MONTH})\s+(?P<day_b>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<year_b>\d{{4}})\b)?",
        re.IGNORECASE), _date_claim),
    (re.compile(
        rf"(?P<sign>[$€£])\s?(?P<amount_a>{_DIGITS})"
        rf"|\b(?P<cword>usd|eur|gbp)\s?(?P<amount_c>{_DIGITS})"
        rf"|\b(?P<amount_b>{_AMOUNT})\s?(?P<pword>dollars?|euros?|pounds?|usd|eur|gbp)\b",
        re.IGNORECASE), lambda m: _price_claim(_PriceMatch(m))),
    (re.compile(
        rf"\b(?P<hour>[01]?\d|2[0-4]):(?P<minute>[0-5]\d)(?:\s*{_MERIDIEM})?"
        rf"|\b(?P<hour4>1[0-2]|0?[1-9])\.(?P<minute4>[0-5]\d)\s*(?P<mer4>a\.?\s?m\.?|p\.?\s?m\.?)"
        rf"|\b(?P<hour2>1[0-2]|0?[1-9])\s*(?P<mer2>a\.?\s?m\.?|p\.?\s?m\.?)(?![a-z])"
        rf"|\b(?:(?P<hour3>1[0-2]|0?[1-9])|(?P<whour>{_WORD_NUMBER}))\s*o['’]?clock\b"
        r"|\b(?:noon|midday|midnight)\b",
        re.IGNORECASE), lambda m: _time_claim(_TimeMatch(m))),
    (re.compile(r"(?<![\w€$£])\+?\(?\d[\d\s().-]{5,}\d(?!\s*(?:minutes?|hours?|days?|%))"),
     _phone_claim),
    (re.compile(r"\b[A-Z]{1,4}-?\d[0-9A-Z]*\b|\b[A-Z]\d[A-Z]\d\b"), _code_claim),
    (re.compile(r"\b(?:Dr|Doctor|Prof|Professor|Mr|Mrs|Ms|Nurse)\.?\s+(?:[A-Z][a-z'’-]+\s+)*"
                r"(?P<surname>[A-Z][a-z'’-]+)"), _name_claim),
    (re.compile(rf"\b(?P<num>{_WORD_NUMBER})(?=[\s-]+{_UNIT_WORDS}\b)", re.IGNORECASE),
     _number_claim),
    (re.compile(rf"(?<![\w.])(?P<num>{_DIGITS})(?:\s?%)?(?![\w])"), _number_claim),
)


class _TimeMatch:
    """Adapts the three alternative spellings of a time to one set of group names."""

    def __init__(self, match: re.Match[str]) -> None:
        self._match = match

    def group(self, name: str | int) -> str | None:
        m = self._match
        if name == 0:
            return m.group(0)
        if name in ("hour", "minute", "mer"):
            spellings = {"hour": ("hour", "hour2", "hour3", "hour4"),
                         "minute": ("minute", "minute4"), "mer": ("mer", "mer2", "mer4")}[name]
            return next((m.group(g) for g in spellings if m.group(g)), None)
        return m.group(name)


class _PriceMatch:
    """Adapts "EUR 65" to the same group names as "€65" and "65 euros"."""

    def __init__(self, match: re.Match[str]) -> None:
        self._match = match

    def groupdict(self) -> dict[str, str | None]:
        groups = dict(self._match.groupdict())
        if groups.get("cword"):
            groups["amount_a"] = groups.pop("amount_c")
        return groups

    def group(self, index: int) -> str:
        return self._match.group(index)


def extract_claims(text: str) -> list[Claim]:
    """Every claim in ``text``, most specific kinds first, without overlapping spans."""
    claims: list[Claim] = []
    taken: list[tuple[int, int]] = []
    for pattern, build in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            claim = build(match)
            if claim is not None:
                claims.append(claim)
                taken.append((start, end))
    return claims

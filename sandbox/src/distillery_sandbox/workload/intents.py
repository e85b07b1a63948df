"""Reading a caller's words: which intent a turn has and which slots it fills.

Rules, not a model: the sandbox must be deterministic and the same rules let the OpenAI
sandbox recognise the situations a fine-tuned student was (or was not) trained on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from distillery_sandbox.workload.knowledge import WEEKDAYS, Doctor, KnowledgeBase, Service

# Checked in order: the first intent whose pattern matches wins. Moving or cancelling
# an appointment mentions "appointment" too, so they come before booking.
_INTENT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (intent, re.compile(pattern, re.IGNORECASE))
    for intent, pattern in (
        ("rescheduling", r"\b(reschedul\w*|move my|change my (appointment|booking)|push (it|my)"
                         r"|postpone|different (day|time)|another (day|time))\b"),
        ("cancelling", r"\b(cancel\w*|call off|can'?t make it|won'?t be able to (come|make))\b"),
        ("prices", r"\b(price[sd]?|cost[s]?|how much|fees?|charge[sd]?|expensive)\b"),
        ("insurance", r"\b(insurance|insured|insurer|covered|cover|vhi|laya|irish life"
                      r"|level health|aviva|allianz)\b"),
        ("booking", r"\b(book\w*|appointments?|make an? (appointment|booking)|schedule|see (a|the)"
                    r" (doctor|gp|dentist|dermatologist|physio\w*)|come in|slot)\b"),
        ("opening_hours", r"\b(open\w*|clos(e|ed|ing)|hours|what time do you)\b"),
        ("directions", r"\b(where|address|find you|directions?|parking|park|luas|bus|tram"
                       r"|get (to|there)|located|location)\b"),
        ("goodbye", r"\b(bye|goodbye|that'?s (all|everything|it)|thanks?|thank you|cheers)\b"),
    )
)

_TIME_24H = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")
_TIME_12H = re.compile(r"\b(1[0-2]|0?[1-9])(?::([0-5]\d))?\s*(am|pm|a\.m\.|p\.m\.)", re.I)
_WEEKDAY = re.compile(rf"\b({'|'.join(WEEKDAYS)})s?\b")
_REFERENCE = re.compile(r"\b(LH-\d{4})\b", re.IGNORECASE)
_NAME = re.compile(
    r"\b(?i:my name is|name's|it's for|this is|the name is|under the name)\s+"
    r"([A-Z][a-z]+(?:\s+[A-Z][A-Za-z'\-]+)+|<PERSON>)"
)
"""A name the caller gives; the cleaner's placeholder counts as one (the teacher, reading a redacted
transcript, books under it, as the training answers it learned from do)."""


@lru_cache(maxsize=65536)
def classify_intent(text: str) -> str:
    """The intent of one caller turn; "other" when nothing in it points anywhere."""
    for intent, pattern in _INTENT_PATTERNS:
        if pattern.search(text):
            return intent
    return "other"


@dataclass(frozen=True)
class Slots:
    """What a conversation has pinned down so far; None where it has not."""

    service: Service | None = None
    doctor: Doctor | None = None
    weekday: str | None = None
    time: str | None = None
    patient_name: str | None = None
    reference: str | None = None
    insurer: str | None = None

    def merged(self, later: Slots) -> Slots:
        """These slots updated by a later turn: what the caller says last counts."""
        return Slots(*(
            mine if theirs is None else theirs
            for mine, theirs in zip(self._values(), later._values())
        ))

    def key(self) -> tuple:
        """The slot values as plain strings and None, for hashing and comparing."""
        return (
            self.service.key if self.service else None,
            self.doctor.name if self.doctor else None,
            self.weekday, self.time, self.patient_name, self.reference, self.insurer,
        )

    def _values(self) -> tuple:
        return (self.service, self.doctor, self.weekday, self.time, self.patient_name,
                self.reference, self.insurer)


def extract_slots(kb: KnowledgeBase, text: str) -> Slots:
    """The slots one utterance fills (service, doctor, weekday, time, name, reference...)."""
    matchers = _MATCHERS.get(kb.version)
    if matchers is None:
        matchers = _MATCHERS.setdefault(kb.version, _Matchers(kb))
    return _extract(matchers, text)


@lru_cache(maxsize=65536)
def _extract(matchers: _Matchers, text: str) -> Slots:
    lowered = text.lower()
    return Slots(
        service=matchers.service(lowered),
        doctor=matchers.doctor(lowered),
        weekday=_find_weekday(lowered),
        time=_find_time(text),
        patient_name=_find_name(text),
        reference=_find_reference(text),
        insurer=matchers.insurer(lowered),
    )


class _Matchers:
    """One compiled pattern per kind of knowledge-base entity (compiled once per KB)."""

    def __init__(self, kb: KnowledgeBase):
        phrases = {phrase: s for s in kb.services for phrase in (*s.aliases, s.name)}
        self._services = phrases
        self._service_re = _alternation(phrases)
        surnames = {d.name.split()[-1].lower(): d for d in kb.doctors}
        self._doctors = surnames
        self._doctor_re = re.compile(
            rf"\b(?:dr\.?|doctor)\s+({'|'.join(map(re.escape, surnames))})\b"
        )
        insurers = {name.lower(): name for name in (*kb.insurers, *kb.not_accepted_insurers)}
        self._insurers = insurers
        self._insurer_re = _alternation(insurers)

    def service(self, lowered: str) -> Service | None:
        # The longest phrase wins: "dental check-up" beats "check-up".
        found = [m.group(1) for m in self._service_re.finditer(lowered)]
        return self._services[max(found, key=len)] if found else None

    def doctor(self, lowered: str) -> Doctor | None:
        match = self._doctor_re.search(lowered)
        return self._doctors[match.group(1)] if match else None

    def insurer(self, lowered: str) -> str | None:
        match = self._insurer_re.search(lowered)
        return self._insurers[match.group(1)] if match else None


def _alternation(phrases: dict[str, object]) -> re.Pattern[str]:
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile(rf"\b({'|'.join(map(re.escape, ordered))})\b")


_MATCHERS: dict[str, _Matchers] = {}


def _find_weekday(lowered: str) -> str | None:
    match = _WEEKDAY.search(lowered)
    return match.group(1) if match else None


def _find_time(text: str) -> str | None:
    match = _TIME_24H.search(text)
    if match:
        return f"{int(match.group(1)):02d}:{match.group(2)}"
    match = _TIME_12H.search(text)
    if match:
        hour = int(match.group(1)) % 12
        if match.group(3).lower().startswith("p"):
            hour += 12
        return f"{hour:02d}:{match.group(2) or '00'}"
    return None


def _find_name(text: str) -> str | None:
    match = _NAME.search(text)
    return match.group(1) if match else None


def _find_reference(text: str) -> str | None:
    match = _REFERENCE.search(text)
    return match.group(1).upper() if match else None

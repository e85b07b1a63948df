"""The clinic's ground truth: what a correct answer on the appointment line may say.

The teacher answers from it, the simulated callers ask about it, and the evaluator checks
answers against the facts it returns, so everything here is plain, frozen data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property

WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)

INTENTS: tuple[str, ...] = (
    "booking",
    "rescheduling",
    "cancelling",
    "opening_hours",
    "prices",
    "insurance",
    "directions",
    "goodbye",
    "other",
)
"""Every intent a caller's turn can have; `classify_intent` returns one of these."""


@dataclass(frozen=True)
class DayHours:
    """Opening hours of one weekday; `opens` and `closes` are "HH:MM", None when closed."""

    weekday: str
    opens: str | None
    closes: str | None

    @property
    def closed(self) -> bool:
        return self.opens is None


@dataclass(frozen=True)
class Service:
    """A bookable service. `key` is the value tools use; `aliases` are words callers say."""

    key: str
    name: str
    price_eur: int
    duration_minutes: int
    specialty: str
    aliases: tuple[str, ...] = ()

    @property
    def a_name(self) -> str:
        """The name with its indefinite article: "an extended consultation"."""
        return ("an " if self.name[0] in "aeiou" else "a ") + self.name


@dataclass(frozen=True)
class Doctor:
    """A clinician, the specialty they cover and the weekdays they see patients."""

    name: str
    specialty: str
    weekdays: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    """A house rule the line must state correctly (cancellation fee, notice, ...)."""

    topic: str
    text: str


@dataclass(frozen=True)
class Fact:
    """One checkable statement of ground truth.

    `kind` groups facts for checkers ("price", "duration", "opening_hours", "doctor",
    "insurer", "address", "phone", "directions", "policy", "clinic"); `subject` is what the
    fact is about (a service, a weekday, a doctor...); `value` is the exact value an
    answer must not contradict ("€65", "08:00-19:00", "closed"); `text` says it as a
    sentence, ready to give a judge as the reference.
    """

    kind: str
    subject: str
    value: str
    text: str


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the clinic's line knows. `version` changes whenever any content does."""

    clinic_name: str
    address: str
    phone: str
    directions: str
    parking: str
    hours: tuple[DayHours, ...]
    services: tuple[Service, ...]
    doctors: tuple[Doctor, ...]
    insurers: tuple[str, ...]
    policies: tuple[Policy, ...]
    currency: str = "€"
    not_accepted_insurers: tuple[str, ...] = field(default=())

    @cached_property
    def version(self) -> str:
        """A short content hash: two knowledge bases with the same content share it."""
        canonical = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return "kb-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def hours_on(self, weekday: str) -> DayHours:
        for day in self.hours:
            if day.weekday == weekday:
                return day
        raise ValueError(f"unknown weekday {weekday!r}; expected one of {WEEKDAYS}")

    def service(self, key: str) -> Service:
        for service in self.services:
            if service.key == key:
                return service
        known = ", ".join(s.key for s in self.services)
        raise ValueError(f"unknown service {key!r}; known services: {known}")

    def policy(self, topic: str) -> Policy:
        for policy in self.policies:
            if policy.topic == topic:
                return policy
        raise ValueError(f"no policy about {topic!r}")

    def doctors_for(self, service: Service, weekday: str | None = None) -> list[Doctor]:
        return [
            doctor
            for doctor in self.doctors
            if doctor.specialty == service.specialty
            and (weekday is None or weekday in doctor.weekdays)
        ]

    def price_text(self, service: Service) -> str:
        return f"{self.currency}{service.price_eur}"

    def facts_for(self, intent: str) -> list[Fact]:
        """The ground truth an answer to a turn with this intent may draw on."""
        if intent not in INTENTS:
            raise ValueError(f"unknown intent {intent!r}; expected one of {INTENTS}")
        groups = {
            "booking": ("service", "doctor", "hours", "policy:booking"),
            "rescheduling": ("doctor", "hours", "policy:rescheduling", "policy:cancellation"),
            "cancelling": ("policy:cancellation", "clinic"),
            "opening_hours": ("hours",),
            "prices": ("service", "policy:payment"),
            "insurance": ("insurer", "policy:insurance"),
            "directions": ("address", "clinic"),
            "goodbye": ("clinic",),
            "other": ("clinic", "hours"),
        }[intent]
        facts: list[Fact] = []
        for group in groups:
            facts.extend(self._facts_of(group))
        return facts

    def all_facts(self) -> list[Fact]:
        """Every fact, once, in a stable order (for golden sets and checkers)."""
        groups = ("clinic", "address", "hours", "service", "doctor", "insurer")
        facts = [fact for group in groups for fact in self._facts_of(group)]
        facts.extend(self._facts_of(f"policy:{p.topic}")[0] for p in self.policies)
        return facts

    def _facts_of(self, group: str) -> list[Fact]:
        if group.startswith("policy:"):
            policy = self.policy(group.split(":", 1)[1])
            return [Fact("policy", policy.topic, policy.text, policy.text)]
        return _FACT_BUILDERS[group](self)


def _clinic_facts(kb: KnowledgeBase) -> list[Fact]:
    return [
        Fact("clinic", "name", kb.clinic_name, f"The clinic is called {kb.clinic_name}."),
        Fact("phone", "clinic", kb.phone, f"The clinic's phone number is {kb.phone}."),
    ]


def _address_facts(kb: KnowledgeBase) -> list[Fact]:
    return [
        Fact("address", "clinic", kb.address, f"The clinic is at {kb.address}."),
        Fact("directions", "public transport", kb.directions, kb.directions),
        Fact("directions", "parking", kb.parking, kb.parking),
    ]


def _hours_facts(kb: KnowledgeBase) -> list[Fact]:
    facts = []
    for day in kb.hours:
        label = day.weekday.capitalize()
        if day.closed:
            facts.append(Fact("opening_hours", day.weekday, "closed", f"Closed on {label}."))
        else:
            value = f"{day.opens}-{day.closes}"
            text = f"Open on {label} from {day.opens} to {day.closes}."
            facts.append(Fact("opening_hours", day.weekday, value, text))
    return facts


def _service_facts(kb: KnowledgeBase) -> list[Fact]:
    facts = []
    for s in kb.services:
        price = kb.price_text(s)
        facts.append(Fact("price", s.name, price, f"{s.a_name.capitalize()} costs {price}."))
        minutes = f"{s.duration_minutes} minutes"
        facts.append(Fact("duration", s.name, minutes, f"{s.a_name.capitalize()} takes {minutes}."))
    return facts


def _doctor_facts(kb: KnowledgeBase) -> list[Fact]:
    facts = []
    for d in kb.doctors:
        days = ", ".join(day.capitalize() for day in d.weekdays)
        text = f"{d.name} ({d.specialty}) sees patients on {days}."
        facts.append(Fact("doctor", d.name, f"{d.specialty}: {days}", text))
    return facts


def _insurer_facts(kb: KnowledgeBase) -> list[Fact]:
    facts = [
        Fact("insurer", name, "accepted", f"The clinic accepts {name}.") for name in kb.insurers
    ]
    facts.extend(
        Fact("insurer", name, "not accepted", f"The clinic does not bill {name} directly.")
        for name in kb.not_accepted_insurers
    )
    return facts


_FACT_BUILDERS = {
    "clinic": _clinic_facts,
    "address": _address_facts,
    "hours": _hours_facts,
    "service": _service_facts,
    "doctor": _doctor_facts,
    "insurer": _insurer_facts,
}

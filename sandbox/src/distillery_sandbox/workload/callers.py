"""Simulated callers: who rings the clinic, what they want, and what they say at each turn.

A caller follows an agenda of goals planned so the call has exactly the number of caller
turns it was given; each reply reads the conversation with the same `read_state` the
teacher uses, so the caller answers precisely what the agent asked for.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from distillery_sandbox.workload.dialogue import read_state
from distillery_sandbox.workload.knowledge import WEEKDAYS, KnowledgeBase, Service

_FIRST = ("Anna", "Sean", "Aoife", "Liam", "Niamh", "Conor", "Sinead", "Darragh", "Emma",
          "Patrick", "Grace", "Oisin", "Maria", "Tomas", "Chloe", "Kevin", "Ruth", "Adam")
_LAST = ("Byrne", "Murphy", "Kelly", "Walsh", "O'Brien", "Ryan", "Doyle", "Nolan",
         "Kavanagh", "Fitzgerald", "Brady", "Flynn", "Quinn", "Keane", "Moran", "Lynch")

_OPENERS = {
    "booking": {
        (False, False): ("Hi, I'd like to book an appointment, please.",
                         "Hello, can I make an appointment?", "Hi there, I'd like to make a booking."),
        (True, False): ("Hi, I'd like to book {a_service}.",
                        "Hello, could I book in for {a_service}, please?",
                        "I need an appointment for {a_service}."),
        (False, True): ("Hi, do you have any appointments on {day}?",
                        "Hello, could I book something for {day}?"),
        (True, True): ("Hi, I'd like to book {a_service} on {day}.",
                       "Could I get {a_service} appointment on {day}, please?",
                       "Hello, I want to book {a_service} for {day}."),
    },
    "rescheduling": {
        (False, False, False): ("Hi, I need to reschedule my appointment.",
                                "Hello, can I move my appointment?"),
        (True, False, False): ("I'd like to change my appointment, reference {ref}.",
                               "Hi, I need to reschedule booking {ref}."),
        (True, True, False): ("Hi, I need to reschedule my {service}, the reference is {ref}.",),
        (True, True, True): ("Hello, can I move my {service} to {day}? The reference is {ref}.",
                             "I'd like to reschedule my {service}, {ref}, to {day} please."),
    },
    "cancelling": {
        (False,): ("Hi, I need to cancel my appointment.", "Hello, I'd like to cancel a booking."),
        (True,): ("I'd like to cancel booking {ref}, please.",
                  "Hi, I can't make it to my appointment, reference {ref}, please cancel it."),
    },
}

_REPLIES = {
    "service": ("{A_service}, please.", "It's for {a_service}.", "I need {a_service}."),
    "day": ("{day} would be good.", "Is {day} possible?", "How about {day}?", "{day}, if you can."),
    "time": ("{time} works for me.", "I'll take {time}.", "{time}, please."),
    "time_name": ("{time} works for me. My name is {name}.", "I'll take {time}. It's for {name}."),
    "name": ("My name is {name}.", "The name is {name}.", "It's for {name}."),
    "ref": ("Sure, it's {ref}.", "The reference is {ref}.", "It's {ref}."),
}

_QUESTIONS = {
    ("opening_hours", False): ("What are your opening hours?", "When are you open?",
                               "What time do you close in the evenings?"),
    ("opening_hours", True): ("Are you open on {day}?", "What time do you open on {day}?",
                              "What are your hours on {day}?"),
    ("prices", False): ("What are your prices like?", "How much do your services cost?"),
    ("prices", True): ("How much is {a_service}?", "What does {a_service} cost?",
                       "How much do you charge for {a_service}?"),
    ("insurance", False): ("Which insurance do you accept?", "Do you take health insurance?"),
    ("insurance", True): ("Do you take {insurer}?", "I'm with {insurer}, am I covered?"),
    ("directions", False): ("Where are you located?", "What's your address?",
                            "How do I get to you?"),
    ("directions", True): ("Is there parking near you?", "Where can I park when I visit?"),
}

_FOLLOW_UPS = ("Also, ", "One more thing, ", "Oh, and ", "")
_GOODBYES = ("Thanks, that's all.", "Great, thank you. Bye!", "That's everything, thanks.",
             "Cheers, bye.")

TASK_WEIGHTS = (("booking", 0.38), ("rescheduling", 0.1), ("cancelling", 0.08), ("info", 0.44))
INFO_INTENTS = ("opening_hours", "prices", "insurance", "directions")


@dataclass(frozen=True)
class Caller:
    """A person who rings the line; the same caller id always has the same name."""

    caller_id: str
    name: str


def caller_for(number: int) -> Caller:
    rng = random.Random(f"caller-{number}")
    return Caller(f"caller-{number:05d}", f"{rng.choice(_FIRST)} {rng.choice(_LAST)}")


@dataclass
class Goal:
    """One thing the caller wants from the call, with what their first sentence reveals."""

    intent: str
    values: dict[str, str]
    reveal: tuple[bool, ...] = ()
    specific: bool = False
    name_with_time: bool = False

    def turns(self) -> int:
        """How many caller turns this goal takes with the teacher's dialogue policy."""
        if self.intent == "booking":
            return 2 + self.reveal.count(False) + (not self.name_with_time)
        if self.intent == "rescheduling":
            return 2 + self.reveal.count(False)
        if self.intent == "cancelling":
            return 1 + self.reveal.count(False)
        return 1


def plan_agenda(kb: KnowledgeBase, rng: random.Random, user_turns: int) -> list[Goal]:
    """Goals whose turns add up to exactly `user_turns` (a goodbye closes calls of 2+ turns)."""
    budget = user_turns - 1 if user_turns >= 2 else user_turns
    kind = _weighted(rng, TASK_WEIGHTS)
    agenda: list[Goal] = []
    if kind != "info":
        task = _task_goal(kb, rng, kind)
        _fit(task, budget)
        if task.turns() <= budget:
            agenda.append(task)
    while sum(goal.turns() for goal in agenda) < budget:
        agenda.append(_question_goal(kb, rng))
    if rng.random() < 0.3 and len(agenda) > 1:
        agenda.append(agenda.pop(0))
    if user_turns >= 2:
        agenda.append(Goal("goodbye", {}))
    return agenda


def _weighted(rng: random.Random, weights: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in weights], [w for _, w in weights])[0]


def _bookable_day(kb: KnowledgeBase, rng: random.Random, service: Service) -> str:
    days = [d for d in WEEKDAYS if kb.doctors_for(service, d) and not kb.hours_on(d).closed]
    return rng.choice(days)


def _task_goal(kb: KnowledgeBase, rng: random.Random, intent: str) -> Goal:
    service = rng.choice(kb.services)
    values = {
        "service": service.name,
        "a_service": service.a_name,
        "A_service": service.a_name.capitalize(),
        "service_key": service.key,
        "day": _bookable_day(kb, rng, service).capitalize(),
        "ref": f"LH-{rng.randint(1000, 9999)}",
    }
    if intent == "booking":
        return Goal(intent, values, (rng.random() < 0.6, rng.random() < 0.4),
                    name_with_time=rng.random() < 0.5)
    if intent == "rescheduling":
        return Goal(intent, values, rng.choice(tuple(_OPENERS["rescheduling"])))
    return Goal(intent, values, (rng.random() < 0.5,))


def _fit(goal: Goal, budget: int) -> None:
    """Reveal more in the opening sentence until the goal fits in the turn budget."""
    if goal.intent == "booking" and goal.turns() > budget and not goal.name_with_time:
        goal.name_with_time = True
    reveal = list(goal.reveal)
    while goal.turns() > budget and False in reveal:
        reveal[reveal.index(False)] = True
        goal.reveal = tuple(reveal)


def _question_goal(kb: KnowledgeBase, rng: random.Random) -> Goal:
    intent = rng.choice(INFO_INTENTS)
    service = rng.choice(kb.services)
    insurers = kb.insurers + kb.not_accepted_insurers
    values = {
        "service": service.name,
        "a_service": service.a_name,
        "day": rng.choice(WEEKDAYS).capitalize(),
        "insurer": rng.choice(insurers),
    }
    return Goal(intent, values, specific=rng.random() < 0.6)


class CallerAgent:
    """Says the caller's next line, given the conversation so far and the agenda left."""

    def __init__(self, kb: KnowledgeBase, rng: random.Random, caller: Caller, agenda: list[Goal]):
        self._kb, self._rng, self._caller = kb, rng, caller
        self._agenda = list(agenda)
        self._current: Goal | None = None

    def next_line(self, messages: list[dict[str, Any]]) -> str | None:
        """The next thing the caller says, or None once the agenda is done (hang up)."""
        if self._current is not None:
            reply = self._reply(self._current, messages)
            if reply is not None:
                return reply
        if not self._agenda:
            return None
        self._current = self._agenda.pop(0)
        first = sum(1 for m in messages if m.get("role") == "user") == 0
        return self._open(self._current, first)

    def _open(self, goal: Goal, first: bool) -> str:
        if goal.intent == "goodbye":
            return self._rng.choice(_GOODBYES)
        if goal.intent in _OPENERS:
            line = self._rng.choice(_OPENERS[goal.intent][goal.reveal]).format(**goal.values)
        else:
            line = self._rng.choice(_QUESTIONS[(goal.intent, goal.specific)]).format(**goal.values)
        if first:
            return line
        lead = self._rng.choice(_FOLLOW_UPS)
        return lead + line[:1].lower() + line[1:] if lead else line

    def _reply(self, goal: Goal, messages: list[dict[str, Any]]) -> str | None:
        if goal.intent not in ("booking", "rescheduling", "cancelling"):
            return None
        state = read_state(self._kb, messages)
        slots, values = state.slots, goal.values
        if goal.intent == "cancelling" or state.booking is not None:
            return None if slots.reference or state.booking else self._say("ref", values)
        if goal.intent == "rescheduling" and slots.reference is None:
            return self._say("ref", values)
        if slots.service is None:
            return self._say("service", values)
        if slots.weekday is None:
            return self._say("day", values)
        offered = (state.availability or {}).get("slots") or []
        if offered and slots.time not in offered:
            time = self._rng.choice(offered)
            wants_name = goal.intent == "booking" and goal.name_with_time
            return self._say("time_name" if wants_name else "time", {**values, "time": time})
        if goal.intent == "booking" and slots.patient_name is None:
            return self._say("name", values)
        return None

    def _say(self, kind: str, values: dict[str, str]) -> str:
        return self._rng.choice(_REPLIES[kind]).format(name=self._caller.name, **values)

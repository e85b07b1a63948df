"""How the teacher says things: equivalent spoken phrasings, all built from the knowledge base.

Every function takes `pick(options, salt)`, which chooses one phrasing deterministically.
Values are written the same way everywhere (prices as "€65", times as "09:30", doctors as
"Dr. First Last") so that checkers can find and verify them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from distillery_sandbox.workload.knowledge import WEEKDAYS, KnowledgeBase, Service

Pick = Callable[[Sequence[str], str], str]


def join_or(items: Sequence[str], word: str = "or") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _say(pick: Pick, salt: str, templates: Sequence[str], **values: Any) -> str:
    """One of `templates`, chosen by `pick`, filled in with `values`."""
    return pick(templates, salt).format(**values)


def offer_slots(kb: KnowledgeBase, availability: dict[str, Any], pick: Pick) -> str:
    service = kb.service(availability["service"])
    values = {
        "day": availability["weekday"].capitalize(),
        "doctor": availability["doctor"],
        "slots": join_or(availability["slots"]),
        "service": service.name,
        "a_service": service.a_name,
        "A_service": service.a_name.capitalize(),
        "minutes": service.duration_minutes,
        "price": kb.price_text(service),
    }
    return _say(pick, "offer", (
        "On {day}, {doctor} has {slots} free for {a_service}. It takes {minutes} minutes "
        "and costs {price}. Which time suits you?",
        "{doctor} can see you on {day} at {slots}. {A_service} is {price} for {minutes} "
        "minutes. Which would you like?",
        "I have {slots} on {day} with {doctor}. Which of those works for you?",
    ), **values)


def no_availability(reason: str, pick: Pick) -> str:
    lead = pick(("I'm sorry.", "Unfortunately that won't work.", "Ah, I see a problem."), "none")
    ask = pick(("Would another day suit you?", "Could you do a different day?"), "none-ask")
    return f"{lead} {reason} {ask}"


def booking_confirmed(kb: KnowledgeBase, booking: dict[str, Any], pick: Pick) -> str:
    values = {
        "service": kb.service(booking["service"]).name,
        "a_service": kb.service(booking["service"]).a_name,
        "doctor": booking["doctor"],
        "day": booking["weekday"].capitalize(),
        "time": booking["time"],
        "ref": booking["reference"],
        "old": booking.get("replaces_reference", ""),
        "policy": kb.policy("booking").text,
    }
    if booking.get("status") == "rescheduled":
        return _say(pick, "moved", (
            "I've moved appointment {old} to {day} at {time} with {doctor}. Your new "
            "reference is {ref}.",
            "Done: your {service} is now on {day} at {time} with {doctor}, reference {ref}.",
        ), **values)
    return _say(pick, "booked", (
        "You're booked in for {a_service} with {doctor} on {day} at {time}. Your "
        "reference is {ref}. {policy}",
        "All set: {day} at {time} with {doctor} for your {service}. The reference is "
        "{ref}. {policy}",
        "That's confirmed, {a_service} on {day} at {time} with {doctor}. Your "
        "reference number is {ref}.",
    ), **values)


def system_error(problem: str, pick: Pick) -> str:
    lead = pick(("I'm sorry, the booking system says:", "Hmm, that didn't go through:"), "err")
    return f"{lead} {problem} Shall we try something else?"


def ask_service(kb: KnowledgeBase, pick: Pick) -> str:
    examples = join_or([s.a_name for s in kb.services[:1] + kb.services[4:5] + kb.services[7:8]])
    return _say(pick, "ask-service", (
        "Of course. What would you like to come in for, for example {examples}?",
        "Happy to help with that. Which service do you need? We do {examples}, among others.",
        "Sure. What's the appointment for?",
    ), examples=examples)


def ask_day(kb: KnowledgeBase, service: Service, pick: Pick) -> str:
    days = [
        day for day in WEEKDAYS
        if kb.doctors_for(service, day) and not kb.hours_on(day).closed
    ]
    return _say(pick, "ask-day", (
        "Sure, {a_service}. Which day would suit you? We offer those on {days}.",
        "No problem. What day works best for your {service}? It's available on {days}.",
        "Which day would you like to come in?",
    ), service=service.name, a_service=service.a_name, days=join_or([d.capitalize() for d in days]))


def ask_name(weekday: str, time: str, pick: Pick) -> str:
    return _say(pick, "ask-name", (
        "Great, {time} on {day}. Can I have the patient's full name, please?",
        "Lovely, {day} at {time}. And whose name should I put the booking under?",
        "Perfect. Who is the appointment for?",
    ), day=weekday.capitalize(), time=time)


def ask_reference(pick: Pick) -> str:
    return pick(
        (
            "Certainly. What's the booking reference? It starts with LH.",
            "Of course. Could you give me your reference number, the one starting with LH?",
            "I can do that. What's the reference on your confirmation?",
        ),
        "ask-ref",
    )


def ask_booked_service(reference: str, pick: Pick) -> str:
    return _say(pick, "ask-booked", (
        "Thanks. And what kind of appointment is {ref}, so I can find a matching slot?",
        "Got it, {ref}. Which service was that booking for?",
    ), ref=reference)


def ask_new_day(reference: str, pick: Pick) -> str:
    return _say(pick, "ask-new-day", (
        "No problem. Which day would you like to move {ref} to?",
        "Sure, I can move {ref}. What day would suit you better?",
    ), ref=reference)


def cancelled(kb: KnowledgeBase, reference: str, pick: Pick) -> str:
    policy = _lower_first(kb.policy("cancellation").text)
    return _say(pick, "cancel", (
        "I've cancelled appointment {ref} for you. Just so you know, {policy}",
        "That's done, {ref} is cancelled. Please note that {policy}",
        "Appointment {ref} is now cancelled. You'll get a text to confirm.",
    ), ref=reference, policy=policy)


def hours_on(kb: KnowledgeBase, weekday: str, pick: Pick) -> str:
    day = kb.hours_on(weekday)
    label = weekday.capitalize()
    if day.closed:
        return pick(
            (f"We're closed on {label}s, I'm afraid.", f"On {label} the clinic is closed."),
            "hours-closed",
        )
    return _say(pick, "hours-day", (
        "On {day} we're open from {opens} to {closes}.",
        "We open at {opens} on {day} and close at {closes}.",
        "{day}'s hours are {opens} to {closes}.",
    ), day=label, opens=day.opens, closes=day.closes)


def hours_summary(kb: KnowledgeBase, pick: Pick) -> str:
    groups: list[tuple[list[str], str | None, str | None]] = []
    for day in kb.hours:
        if groups and (groups[-1][1], groups[-1][2]) == (day.opens, day.closes):
            groups[-1][0].append(day.weekday.capitalize())
        else:
            groups.append(([day.weekday.capitalize()], day.opens, day.closes))
    open_parts, closed_days = [], []
    for days, opens, closes in groups:
        label = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
        if opens is None:
            closed_days.append(label)
        else:
            open_parts.append(f"{label} from {opens} to {closes}")
    lead = pick(("We're open", "Our hours are", "The clinic is open"), "hours-lead")
    closed = f", and closed on {join_or(closed_days, 'and')}" if closed_days else ""
    return f"{lead} {join_or(open_parts, 'and')}{closed}."


def price_of(kb: KnowledgeBase, service: Service, pick: Pick) -> str:
    values = {
        "service": service.name,
        "a_service": service.a_name,
        "A_service": service.a_name.capitalize(),
        "price": kb.price_text(service),
        "minutes": service.duration_minutes,
        "payment": kb.policy("payment").text,
    }
    return _say(pick, "price", (
        "{A_service} costs {price} and takes about {minutes} minutes.",
        "It's {price} for {a_service}, and it takes {minutes} minutes.",
        "The {service} is {price}. {payment}",
    ), **values)


def price_overview(kb: KnowledgeBase, number: int, pick: Pick) -> str:
    chosen = [kb.services[(number + step * 3) % len(kb.services)] for step in range(3)]
    listed = join_or([f"{s.a_name} is {kb.price_text(s)}" for s in chosen], "and")
    ask = pick(("Which service are you interested in?", "Is there a particular one you need?"), "ask")
    return f"{listed[:1].upper()}{listed[1:]}. {ask}"


def insurance(kb: KnowledgeBase, insurer: str | None, pick: Pick) -> str:
    if insurer in kb.insurers:
        return pick(
            (
                f"Yes, we accept {insurer} and bill them directly.",
                f"Good news, {insurer} is one of the insurers we work with.",
            ),
            "ins-yes",
        )
    if insurer is not None:
        return pick(
            (
                f"I'm sorry, we don't bill {insurer} directly. You'd pay at the visit and "
                "claim it back.",
                f"We aren't set up with {insurer}, unfortunately, so you'd pay and claim it back.",
            ),
            "ins-no",
        )
    lead = pick(("We work with", "We accept"), "ins-lead")
    return f"{lead} {join_or(kb.insurers, 'and')}. {kb.policy('insurance').text}"


def directions(kb: KnowledgeBase, question: str, pick: Pick) -> str:
    lead = pick(("We're at", "You'll find us at", "The address is"), "dir")
    text = f"{lead} {kb.address}. {kb.directions}"
    if any(word in question.lower() for word in ("park", "car", "driv")):
        text += f" {kb.parking}"
    return text


def goodbye(kb: KnowledgeBase, pick: Pick) -> str:
    return pick(
        (
            f"Thanks for calling {kb.clinic_name}. Take care!",
            "You're welcome. Goodbye and take care.",
            "Glad I could help. Have a good day!",
        ),
        "bye",
    )


def fallback(kb: KnowledgeBase, pick: Pick) -> str:
    return pick(
        (
            "I can help with appointments, opening hours, prices, insurance and directions. "
            "What can I do for you?",
            "Sorry, I didn't quite catch that. Are you calling about an appointment?",
            f"I can book, move or cancel appointments. For anything else the front desk is on "
            f"{kb.phone}.",
        ),
        "other",
    )

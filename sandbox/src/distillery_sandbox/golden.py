"""The simulated clinic's golden set: questions a caller asks the clinic line, with the
facts from the workload's knowledge base that a correct answer rests on.

Each question is kept only if the workload reads it with the intended intent, so the
sandbox's teacher answers it as intended; its answer is the item's reference. The set is
written in the evaluator's golden set file format (one JSON object a line: ``id``,
``messages``, ``facts``, ``reference``), which the demo points the evaluator at
(``DISTILLERY_EVALUATOR_GOLDEN_SOURCE=file``): no service imports the simulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distillery_sandbox.workload import (
    KnowledgeBase,
    WorkloadConfig,
    classify_intent,
    default_knowledge_base,
    system_prompt,
    teacher_answer,
)
from distillery_sandbox.workload.knowledge import DayHours, Service

# Prices and hours are asked three ways each: with one question a fact, a candidate that
# misquotes one price in five was caught on two or three items, as often missed as not.
_PRICE_QUESTIONS = ("How much is {a}?", "What does {a} cost?", "How much do you charge for {a}?")
_HOURS_QUESTIONS = ("What time are you open on {day}?", "When do you close on {day}?",
                    "What are your hours on {day}?")


def _questions(kb: KnowledgeBase) -> Iterator[tuple[str, str, str, list[str]]]:
    """(item id, intent, question, fact texts) for every question of the set."""
    facts = kb.all_facts()

    def about(kind: str, subject: str) -> list[str]:
        return [f.text for f in facts if f.kind == kind and f.subject == subject]

    payment = about("policy", "payment")

    def price(service: Service, phrasing: int) -> tuple[str, str, str, list[str]]:
        question = _PRICE_QUESTIONS[phrasing % len(_PRICE_QUESTIONS)].format(a=service.a_name)
        return (f"prices-{service.key}", "prices", question,
                about("price", service.name) + about("duration", service.name) + payment)

    def hours(day: DayHours, phrasing: int) -> tuple[str, str, str, list[str]]:
        question = _HOURS_QUESTIONS[phrasing].format(day=day.weekday.capitalize())
        return (f"hours-{day.weekday}", "opening_hours", question, about("opening_hours", day.weekday))

    for number, service in enumerate(kb.services):
        yield price(service, number)
    yield ("prices-overview", "prices", "How much do your services cost?",
           [f.text for f in facts if f.kind in ("price", "duration")] + payment)
    for day in kb.hours:
        yield hours(day, 0)
    yield ("hours-week", "opening_hours", "What are your opening hours?",
           [f.text for f in facts if f.kind == "opening_hours"])
    for insurer in (*kb.insurers, *kb.not_accepted_insurers):
        yield (f"insurance-{insurer.lower().replace(' ', '-')}", "insurance",
               f"Do you accept {insurer}?", about("insurer", insurer) + about("policy", "insurance"))
    where = about("address", "clinic") + [f.text for f in facts if f.kind == "directions"]
    yield ("directions-where", "directions", "Where is the clinic?", where)
    yield ("directions-parking", "directions", "Is there parking near you?", where)
    for reference in ("LH-4821", "LH-1307", "LH-7702"):
        yield (f"cancel-{reference.lower()}", "cancelling",
               f"I need to cancel my appointment, the reference is {reference}.",
               about("policy", "cancellation"))
    clinic = about("clinic", "name") + about("phone", "clinic")
    yield ("goodbye", "goodbye", "Thanks, that's all. Bye!", clinic)
    yield ("front-desk", "other", "Can I speak to someone at the front desk?", clinic)
    for again in (1, 2):  # the other phrasings last, so a limited set still covers every intent
        for number, service in enumerate(kb.services):
            item_id, intent, question, fact_texts = price(service, number + again)
            yield (f"{item_id}-{again + 1}", intent, question, fact_texts)
        for day in kb.hours:
            item_id, intent, question, fact_texts = hours(day, again)
            yield (f"{item_id}-{again + 1}", intent, question, fact_texts)


def golden_items(kb: KnowledgeBase | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Every golden item for the knowledge base (the sandbox's default clinic when None),
    as golden set file lines; at most ``limit``."""
    kb = kb or default_knowledge_base()
    system = {"role": "system", "content": system_prompt(kb, WorkloadConfig(knowledge_base=kb))}
    items: list[dict[str, Any]] = []
    for item_id, intent, question, fact_texts in _questions(kb):
        if classify_intent(question) != intent:
            continue  # the workload would not read it as meant; its answer would not fit
        messages = [system, {"role": "user", "content": question}]
        item: dict[str, Any] = {"id": f"golden-{item_id}", "messages": messages, "facts": fact_texts}
        reference = teacher_answer(kb, messages, use_tools=False).get("content") or None
        if reference is not None:
            item["reference"] = reference
        items.append(item)
    return items[:limit] if limit else items


def write_golden_set(path: Path, limit: int | None = None, kb: KnowledgeBase | None = None) -> int:
    """Write the golden set file (JSONL) at ``path``; returns how many items it holds."""
    items = golden_items(kb, limit)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")
    return len(items)

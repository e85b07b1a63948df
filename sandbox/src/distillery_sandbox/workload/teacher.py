"""The teacher model of the simulation: grounded, deterministic answers on the clinic line.

`teacher_answer` reads a chat in OpenAI format and returns the assistant message GPT-4.1
would be expected to give: a tool call when the booking system must be asked, otherwise
a short spoken answer built only from the knowledge base. Wording varies with a hash of
what the conversation means, so the same input always gets the same answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from distillery_sandbox.workload import phrasing as say
from distillery_sandbox.workload.backend import run_tool
from distillery_sandbox.workload.dialogue import DialogueState, message_text, read_state
from distillery_sandbox.workload.intents import classify_intent, extract_slots
from distillery_sandbox.workload.knowledge import KnowledgeBase

Message = dict[str, Any]


class Variation:
    """Chooses among equivalent phrasings by a hash of what the conversation means.

    Caller turns count by their intent and slots, not their exact words: like a model
    at low temperature, the teacher answers a reworded but equivalent conversation the
    same way, so near-duplicate calls stay near-duplicates.
    """

    def __init__(self, kb: KnowledgeBase, messages: Sequence[Message]):
        digest = hashlib.sha256()
        for message in messages:
            digest.update(_canonical(kb, message).encode())
        self._seed = digest.digest()

    def pick(self, options: Sequence[str], salt: str = "") -> str:
        return options[self.number(salt) % len(options)]

    def number(self, salt: str = "") -> int:
        digest = hashlib.sha256(self._seed + salt.encode()).digest()
        return int.from_bytes(digest[:4], "big")


_CANONICAL: dict[tuple[int, str], tuple[Message, str]] = {}


def _canonical(kb: KnowledgeBase, message: Message) -> str:
    # A conversation's messages recur in every later turn: remember each one's form.
    # The stored message keeps its id from being reused while the entry lives.
    key = (id(message), kb.version)
    cached = _CANONICAL.get(key)
    if cached is not None and cached[0] is message:
        return cached[1]
    if len(_CANONICAL) > 20_000:
        _CANONICAL.clear()
    text = _canonical_text(kb, message)
    _CANONICAL[key] = (message, text)
    return text


def _canonical_text(kb: KnowledgeBase, message: Message) -> str:
    """A cheap, stable serialisation of what a message means for the next answer."""
    role = str(message.get("role"))
    text = message_text(message)
    if role == "user":
        slots = extract_slots(kb, text)
        text = "|".join((classify_intent(text), *(str(v) for v in slots.key())))
    calls = message.get("tool_calls")
    return "\x1e".join((
        role,
        text,
        str(message.get("tool_call_id") or ""),
        json.dumps(calls, sort_keys=True, default=str) if calls else "",
    )) + "\x1d"


def teacher_answer(
    kb: KnowledgeBase, messages: list[Message], *, use_tools: bool = True
) -> Message:
    """The teacher's next assistant message for this chat.

    With `use_tools` (the default) the answer may be `{"role": "assistant", "content":
    None, "tool_calls": [...]}` calling `check_availability` or `book_appointment`; after
    a `tool` message it answers from the tool's result. Without tools it consults the
    booking system itself and answers in words.
    """
    return answer_with_intent(kb, messages, use_tools=use_tools)[0]


def answer_with_intent(
    kb: KnowledgeBase, messages: list[Message], *, use_tools: bool = True
) -> tuple[Message, str]:
    """`teacher_answer` plus the intent the answer serves (saves reading the chat twice)."""
    if not messages:
        raise ValueError("messages must contain at least one message")
    variation = Variation(kb, messages)
    state = read_state(kb, messages)
    if messages[-1].get("role") == "tool":
        return _text(_answer_tool_result(kb, messages, variation)), state.intent
    return _HANDLERS[state.intent](kb, state, variation, use_tools), state.intent


def _text(content: str) -> Message:
    return {"role": "assistant", "content": content}


def _tool_call(variation: Variation, name: str, arguments: dict[str, Any]) -> Message:
    call_id = f"call_{variation.number('call-id'):08x}{variation.number('call-id-2'):08x}"
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
        ],
    }


def _consult(
    kb: KnowledgeBase, variation: Variation, use_tools: bool, name: str, arguments: dict[str, Any]
) -> Message:
    """Call the booking system: as a tool call, or directly when tools are off."""
    if use_tools:
        return _tool_call(variation, name, arguments)
    return _text(_say_result(kb, name, run_tool(kb, name, arguments), variation))


def _answer_tool_result(kb: KnowledgeBase, messages: list[Message], variation: Variation) -> str:
    call_id = messages[-1].get("tool_call_id")
    name = next(
        (
            call["function"]["name"]
            for message in reversed(messages)
            for call in message.get("tool_calls") or []
            if call.get("id") == call_id
        ),
        "",
    )
    try:
        result = json.loads(messages[-1].get("content") or "")
    except json.JSONDecodeError:
        result = {"error": "the booking system gave an unreadable answer"}
    if not isinstance(result, dict):
        result = {"error": "the booking system gave an unexpected answer"}
    return _say_result(kb, name, result, variation)


def _say_result(kb: KnowledgeBase, name: str, result: dict[str, Any], variation: Variation) -> str:
    if "error" in result:
        return say.system_error(result["error"], variation.pick)
    if name == "check_availability":
        if result.get("available"):
            return say.offer_slots(kb, result, variation.pick)
        return say.no_availability(result["reason"], variation.pick)
    if name == "book_appointment":
        return say.booking_confirmed(kb, result, variation.pick)
    return say.system_error(f"unknown tool {name!r}", variation.pick)


def _check_or_choose(
    kb: KnowledgeBase, state: DialogueState, variation: Variation, use_tools: bool,
    extra: dict[str, Any],
) -> Message:
    """The shared tail of booking and moving: availability, a time, then the booking."""
    slots, availability = state.slots, state.availability
    wanted = {"service": slots.service.key, "weekday": slots.weekday}
    if availability is None or any(availability.get(k) != v for k, v in wanted.items()):
        if slots.doctor is not None:
            wanted["doctor"] = slots.doctor.name
        return _consult(kb, variation, use_tools, "check_availability", wanted)
    if not availability.get("available"):
        return _text(say.no_availability(availability["reason"], variation.pick))
    if slots.time not in availability["slots"]:
        return _text(say.offer_slots(kb, availability, variation.pick))
    if "replaces_reference" not in extra and slots.patient_name is None:
        return _text(say.ask_name(slots.weekday, slots.time, variation.pick))
    arguments = {**wanted, "time": slots.time, "doctor": availability["doctor"], **extra}
    if slots.patient_name is not None:
        arguments["patient_name"] = slots.patient_name
    return _consult(kb, variation, use_tools, "book_appointment", arguments)


def _booking(kb: KnowledgeBase, state: DialogueState, variation: Variation, use_tools: bool) -> Message:
    if state.slots.service is None:
        return _text(say.ask_service(kb, variation.pick))
    if state.slots.weekday is None:
        return _text(say.ask_day(kb, state.slots.service, variation.pick))
    return _check_or_choose(kb, state, variation, use_tools, {})


def _rescheduling(
    kb: KnowledgeBase, state: DialogueState, variation: Variation, use_tools: bool
) -> Message:
    slots = state.slots
    if slots.reference is None:
        return _text(say.ask_reference(variation.pick))
    if slots.service is None:
        return _text(say.ask_booked_service(slots.reference, variation.pick))
    if slots.weekday is None:
        return _text(say.ask_new_day(slots.reference, variation.pick))
    return _check_or_choose(kb, state, variation, use_tools, {"replaces_reference": slots.reference})


def _cancelling(kb: KnowledgeBase, state: DialogueState, variation: Variation, _: bool) -> Message:
    if state.slots.reference is None:
        return _text(say.ask_reference(variation.pick))
    return _text(say.cancelled(kb, state.slots.reference, variation.pick))


def _opening_hours(kb: KnowledgeBase, state: DialogueState, variation: Variation, _: bool) -> Message:
    if state.slots.weekday is not None:
        return _text(say.hours_on(kb, state.slots.weekday, variation.pick))
    return _text(say.hours_summary(kb, variation.pick))


def _prices(kb: KnowledgeBase, state: DialogueState, variation: Variation, _: bool) -> Message:
    if state.slots.service is not None:
        return _text(say.price_of(kb, state.slots.service, variation.pick))
    return _text(say.price_overview(kb, variation.number("services"), variation.pick))


def _insurance(kb: KnowledgeBase, state: DialogueState, variation: Variation, _: bool) -> Message:
    return _text(say.insurance(kb, state.slots.insurer, variation.pick))


def _directions(kb: KnowledgeBase, state: DialogueState, variation: Variation, _: bool) -> Message:
    return _text(say.directions(kb, state.last_user_text, variation.pick))


def _goodbye(kb: KnowledgeBase, state: DialogueState, variation: Variation, _: bool) -> Message:
    return _text(say.goodbye(kb, variation.pick))


def _other(kb: KnowledgeBase, state: DialogueState, variation: Variation, _: bool) -> Message:
    return _text(say.fallback(kb, variation.pick))


_HANDLERS: dict[str, Callable[[KnowledgeBase, DialogueState, Variation, bool], Message]] = {
    "booking": _booking,
    "rescheduling": _rescheduling,
    "cancelling": _cancelling,
    "opening_hours": _opening_hours,
    "prices": _prices,
    "insurance": _insurance,
    "directions": _directions,
    "goodbye": _goodbye,
    "other": _other,
}

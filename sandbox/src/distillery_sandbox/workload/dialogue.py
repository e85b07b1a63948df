"""Where a conversation stands: its current intent, its slots and the tool results so far.

Shared by the teacher (what to say next) and the simulated caller (what to answer), so
both read a conversation the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from distillery_sandbox.workload.intents import Slots, classify_intent, extract_slots
from distillery_sandbox.workload.knowledge import KnowledgeBase

TASK_INTENTS = ("booking", "rescheduling", "cancelling")


@dataclass(frozen=True)
class DialogueState:
    """The conversation as the agent sees it before its next message.

    `intent` is the last caller turn's intent, or the unfinished task it continues;
    `slots` come from the turns since that task (or question) began; `availability` and
    `booking` are the latest tool results since then.
    """

    intent: str
    slots: Slots
    availability: dict[str, Any] | None
    booking: dict[str, Any] | None
    last_user_text: str


def message_text(message: dict[str, Any]) -> str:
    """The text of a chat message, whether content is a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") for part in content if isinstance(part, dict)
        )
    return ""


def read_state(kb: KnowledgeBase, messages: list[dict[str, Any]]) -> DialogueState:
    """Read the state of a chat in OpenAI format (system, user, assistant, tool messages)."""
    user_turns = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if not user_turns:
        return DialogueState("other", Slots(), None, None, "")
    last = user_turns[-1]
    last_text = message_text(messages[last])
    intent, start = classify_intent(last_text), last
    if intent not in TASK_INTENTS:
        task = _open_task(kb, messages, user_turns)
        if task is not None and intent == "other":
            intent, start = task
    slots = Slots()
    for index in user_turns:
        if index >= start:
            slots = slots.merged(extract_slots(kb, message_text(messages[index])))
    results = _tool_results(messages[start:])
    return DialogueState(
        intent=intent,
        slots=slots,
        availability=results.get("check_availability"),
        booking=results.get("book_appointment"),
        last_user_text=last_text,
    )


def _open_task(
    kb: KnowledgeBase, messages: list[dict[str, Any]], user_turns: list[int]
) -> tuple[str, int] | None:
    """The latest booking/moving/cancelling task not yet completed, with its first turn."""
    for position in range(len(user_turns) - 2, -1, -1):
        index = user_turns[position]
        intent = classify_intent(message_text(messages[index]))
        if intent in TASK_INTENTS:
            if _task_done(kb, messages[: user_turns[-1]], user_turns[position:-1], intent):
                return None
            return intent, index
        if intent != "other":
            return None
    return None


def _task_done(
    kb: KnowledgeBase, messages: list[dict[str, Any]], turns: list[int], intent: str
) -> bool:
    """Whether the agent already completed the task begun at turns[0]."""
    if intent == "cancelling":
        # The agent cancels as soon as it has the reference, so a reference given before
        # the last turn means the cancellation was already answered.
        return any(extract_slots(kb, message_text(messages[i])).reference for i in turns)
    booking = _tool_results(messages[turns[0] :]).get("book_appointment")
    return booking is not None and "error" not in booking


def _tool_results(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The latest result of each tool in these messages, keyed by tool name."""
    names: dict[str, str] = {}
    results: dict[str, dict[str, Any]] = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            names[call.get("id", "")] = call.get("function", {}).get("name", "")
        if message.get("role") == "tool":
            name = names.get(message.get("tool_call_id", ""))
            if name:
                results[name] = _parse_result(message_text(message))
    return results


@lru_cache(maxsize=4096)
def _parse_result(text: str) -> dict[str, Any]:
    # Cached and shared between callers: treat the returned dict as read-only.
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return {"error": text}
    return parsed if isinstance(parsed, dict) else {"error": text}

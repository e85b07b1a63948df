"""The brains behind chat completions: the teacher, an untuned model, and (in student.py)
fine-tuned students. Every answer is a deterministic function of (model, messages)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

from distillery_sandbox.openai.lessons import FACT_PATTERN, fact_kind
from distillery_sandbox.workload import KnowledgeBase
from distillery_sandbox.workload.teacher import answer_with_intent

Message = dict[str, Any]


class ChatModel(Protocol):
    """Something that answers a chat. `kind` picks its latency ("teacher", "student",
    "untuned"); `reply` returns an assistant message in OpenAI format."""

    kind: str

    def reply(self, messages: list[Message], *, use_tools: bool, model_id: str) -> Message: ...


def draw(model_id: str, messages: list[Message], salt: str) -> float:
    """A number in [0, 1) fixed by the model, the chat and a salt (no randomness)."""
    digest = hashlib.sha256()
    digest.update(f"{model_id}\x1f{salt}\x1f".encode())
    digest.update(json.dumps(messages, sort_keys=True, default=str).encode())
    return int.from_bytes(digest.digest()[:8], "big") / 2**64


@dataclass
class TeacherDrift:
    """A rehearsed teacher regression: the share of the teacher's fact-bearing answers that
    state a wrong fact (a price, time or doctor), as a teacher whose prompt or knowledge
    went stale would. Nothing flags these answers; only a check against ground truth can.
    Off (0.0) unless set, at start-up or through ``POST /sandbox/v1/teacher``."""

    wrong_fact_rate: float = 0.0

    def __post_init__(self) -> None:
        self.set(self.wrong_fact_rate)

    def set(self, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"wrong_fact_rate must be between 0 and 1, not {rate}")
        self.wrong_fact_rate = rate

    def settings(self) -> dict[str, float]:
        return {"wrong_fact_rate": self.wrong_fact_rate}


class TeacherModel:
    """GPT-4.1 in the simulation: the workload's grounded teacher (unless it drifts)."""

    kind = "teacher"

    def __init__(self, kb: KnowledgeBase, drift: TeacherDrift | None = None):
        self.kb = kb
        self.drift = drift or TeacherDrift()

    def reply(self, messages: list[Message], *, use_tools: bool, model_id: str) -> Message:
        answer = answer_with_intent(self.kb, messages, use_tools=use_tools)[0]
        text = answer.get("content") or ""
        if self.drift.wrong_fact_rate and not answer.get("tool_calls") and FACT_PATTERN.search(text):
            u = draw(model_id, messages, "drift")
            if u < self.drift.wrong_fact_rate:
                return _say(_replace_facts(text, lambda value: _guess(value, u)))
        return answer


_WRONG_GUESSES = {
    "price": ("€50", "€75", "€100", "€150"),
    "time": ("09:00", "17:30", "18:00", "08:30"),
    "doctor": ("Dr. Sarah Smith", "Dr. John Murphy"),
}
_VAGUE = {"price": "our standard fee", "time": "the usual time", "doctor": "one of our doctors"}
_STALLS = (
    "Sure, I can help with that. Which day and time would you prefer?",
    "Let me see what I can do. Could you give me a few more details about the appointment?",
)
_GENERIC = (
    "I'm sorry, I'm not sure I understood. Could you say that again?",
    "I can help you with that. Could you tell me a bit more about what you need?",
)


class UntunedModel:
    """A capable general model that was never taught this clinic: it often skips the
    booking tools, guesses plausible but wrong facts, goes vague, or pads its answers."""

    kind = "untuned"

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb

    def reply(self, messages: list[Message], *, use_tools: bool, model_id: str) -> Message:
        teacher = answer_with_intent(self.kb, messages, use_tools=use_tools)[0]
        return untuned_answer(teacher, draw(model_id, messages, "untuned"))


def untuned_answer(teacher: Message, u: float) -> Message:
    """How an untrained model degrades the teacher's answer, chosen by `u` in [0, 1)."""
    if teacher.get("tool_calls"):
        if u < 0.5:
            return teacher
        return _say(_STALLS[int(u * 1000) % len(_STALLS)])
    text = teacher.get("content") or ""
    if FACT_PATTERN.search(text):
        if u < 0.45:
            return _say(_replace_facts(text, lambda value: _guess(value, u)))
        if u < 0.8:
            return _say(_replace_facts(text, lambda value: _VAGUE[fact_kind(value)]))
        return _say(_padded(text))
    if u < 0.6:
        return _say(_padded(text))
    return _say(_GENERIC[int(u * 1000) % len(_GENERIC)])


def _say(text: str) -> Message:
    return {"role": "assistant", "content": text}


def _padded(text: str) -> str:
    return f"Certainly! {text} Is there anything else I can help you with today?"


def _replace_facts(text: str, new_value) -> str:
    return FACT_PATTERN.sub(lambda match: new_value(match.group(0)), text)


def _guess(value: str, u: float) -> str:
    options = [g for g in _WRONG_GUESSES[fact_kind(value)] if g != value]
    return options[int(u * 7919) % len(options)]

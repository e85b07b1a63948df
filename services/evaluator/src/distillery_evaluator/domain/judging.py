"""What the LLM judges are asked and how their verdicts are read.

The pairwise judge sees the same pair twice, once in each order; a verdict counts only
as far as it survives the swap. A judge that always prefers whichever answer comes first
gives the student one win and one loss: a tie, so position bias cancels.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from distillery_contracts.evaluations import JudgeOutcome

PAIRWISE_SYSTEM = (
    "You are an impartial judge of answers given by a phone assistant. Compare two answers "
    "to the same conversation. Prefer the answer that is correct with respect to the "
    "reference facts, helpful, and appropriately brief for a phone call. Ignore the order "
    "in which the answers are shown. Reply with JSON only: "
    '{"winner": "A" | "B" | "tie", "reason": "<one sentence>"}'
)

HALLUCINATION_SYSTEM = (
    "You check a phone assistant's answer for hallucinations: statements of fact (prices, "
    "times, dates, names, phone numbers, policies) that contradict the reference or are not "
    "supported by it or by the conversation. Reply with JSON only: "
    '{"hallucinated": true | false, "claims": ["<each unsupported statement>"]}'
)


class VerdictError(ValueError):
    """The judge answered, but not with a verdict in the required format."""


@dataclass(frozen=True)
class PairwiseVerdict:
    """One judgement of one order: which position won."""

    winner: str
    """"A", "B" or "tie"."""
    reason: str = ""


def render_conversation(messages: list[dict[str, Any]]) -> str:
    lines = []
    for message in messages:
        role = message.get("role", "?")
        if role in ("system", "developer"):
            continue
        text = message.get("content")
        if isinstance(text, list):
            text = " ".join(p["text"] for p in text if isinstance(p, dict) and p.get("text"))
        for call in message.get("tool_calls") or []:
            function = call.get("function", {})
            text = f"{text or ''} [calls {function.get('name')}({function.get('arguments')})]".lstrip()
        lines.append(f"{role}: {text or ''}".strip())
    return "\n".join(lines)


def pairwise_prompt(messages: list[dict[str, Any]], reference: str, first: str,
                    second: str) -> list[dict[str, str]]:
    user = (
        f"Reference facts:\n{reference or '(none given)'}\n\n"
        f"Conversation:\n{render_conversation(messages)}\n\n"
        f"Answer A:\n{first}\n\nAnswer B:\n{second}"
    )
    return [{"role": "system", "content": PAIRWISE_SYSTEM}, {"role": "user", "content": user}]


def hallucination_prompt(messages: list[dict[str, Any]], reference: str,
                         answer: str) -> list[dict[str, str]]:
    user = (
        f"Reference:\n{reference or '(none given)'}\n\n"
        f"Conversation:\n{render_conversation(messages)}\n\nAnswer to check:\n{answer}"
    )
    return [{"role": "system", "content": HALLUCINATION_SYSTEM}, {"role": "user", "content": user}]


def _json_object(text: str | None) -> dict[str, Any]:
    text = text or ""  # a reply with no content at all is refused like any other
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if not match:
        raise VerdictError(f"no JSON object in the judge's reply: {text[:120]!r}")
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError as exc:
        raise VerdictError(f"judge reply is not valid JSON ({exc.msg}): {text[:120]!r}") from None
    return data  # text from "{" to "}" that parses is an object


def parse_pairwise(text: str | None) -> PairwiseVerdict:
    data = _json_object(text)
    winner = str(data.get("winner", "")).strip().upper()
    if winner not in ("A", "B", "TIE"):
        raise VerdictError(f"judge named no winner (A, B or tie): {text[:120]!r}")
    return PairwiseVerdict("tie" if winner == "TIE" else winner, str(data.get("reason", "")))


def parse_hallucination(text: str | None) -> tuple[bool, list[str]]:
    data = _json_object(text)
    flag = data.get("hallucinated")
    if not isinstance(flag, bool):
        raise VerdictError(f"judge gave no true/false 'hallucinated': {text[:120]!r}")
    claims = data.get("claims") or []
    return flag, [str(c) for c in claims] if isinstance(claims, list) else [str(claims)]


def student_points(verdict: PairwiseVerdict, student_position: str) -> int:
    """+1 when the student's position won, -1 when it lost, 0 for a tie."""
    if verdict.winner == "tie":
        return 0
    return 1 if verdict.winner == student_position else -1


def combine_orders(student_first: PairwiseVerdict, teacher_first: PairwiseVerdict) -> float:
    """The student's preference over both orders, in [-1, 1]: the mean of its points."""
    return (student_points(student_first, "A") + student_points(teacher_first, "B")) / 2


def outcome_of(preference: float) -> JudgeOutcome:
    """Win only when the student won on balance over both orders; likewise loss."""
    if preference > 0:
        return JudgeOutcome.WIN
    if preference < 0:
        return JudgeOutcome.LOSS
    return JudgeOutcome.TIE

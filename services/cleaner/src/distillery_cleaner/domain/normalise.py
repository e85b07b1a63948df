"""A generation as one example in OpenAI's chat fine-tuning format, text normalised and redacted.

One generation becomes one example: the request's messages, then the answer as the final
assistant message with weight 1. Assistant turns earlier in the request get weight 0:
each of them is the final answer of its own generation, hence its own example, so
training on it again here would count early turns once per later turn of the call; and
an earlier turn may not be teacher output at all (a student served it, or its own
generation was rejected). They stay as context. The system prompt is kept.

Tool calls, tool results and the request's tool definitions are carried over; tool
call arguments are normalised and redacted like any text (``domain.text``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from distillery_contracts.messages import ToolDefinition
from distillery_contracts.traces import TraceCaptured
from distillery_cleaner.domain.messages import CleanMessage, MessageCleaner
from distillery_cleaner.domain.verdicts import Rejection

@dataclass
class Example:
    """A generation in fine-tuning format, with what normalisation found on the way."""

    messages: list[CleanMessage]
    tools: list[ToolDefinition]
    redactions: Counter[str] = field(default_factory=Counter)
    user_turns: int = 0
    characters: int = 0

    def as_dict(self) -> dict[str, object]:
        """The example as one line of a fine-tuning file."""
        line: dict[str, object] = {"messages": [m.as_dict() for m in self.messages]}
        if self.tools:
            line["tools"] = [t.model_dump(exclude_none=True) for t in self.tools]
        return line


def build_example(trace: TraceCaptured, cleaner: MessageCleaner) -> Example | Rejection:
    """The example of ``trace`` (whose output the filters already found present)."""
    assert trace.output is not None
    example = Example(messages=[], tools=list(trace.tools))
    turns = [*((m, 0) for m in trace.input_messages), (trace.output, 1)]
    for position, (message, weight) in enumerate(turns, start=1):
        clean = cleaner.clean(message, weight)
        if clean.problem is not None:
            return Rejection(clean.problem[0], f"message {position} ({message.role.value}) {clean.problem[1]}")
        example.messages.append(clean)
        example.characters += clean.characters
        example.user_turns += clean.role == "user"
        for kind, n in clean.redactions:
            example.redactions[kind] += n
    return example


"""Reading an uploaded fine-tuning file the way the provider validates it.

A file is JSON lines, one chat example a line. The first problem found fails the job with
a message that names the line, as OpenAI's `invalid_training_file` errors do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from distillery_sandbox.workload.records import estimate_chat_tokens

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
MIN_EXAMPLES = 10
MAX_EXAMPLE_TOKENS = 65_536


class TrainingFileError(ValueError):
    """The file cannot be trained on; `str()` is the message the job's error carries."""


@dataclass(frozen=True)
class TrainingSet:
    """The parsed examples of a valid file and their estimated token count."""

    examples: tuple[dict[str, Any], ...]
    tokens: int

    def __len__(self) -> int:
        return len(self.examples)


def read_training_file(content: bytes, *, min_examples: int = MIN_EXAMPLES) -> TrainingSet:
    """Parse and check a chat fine-tuning file; raises TrainingFileError on the first fault."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TrainingFileError(f"Invalid file format. The file is not UTF-8 text ({exc.reason} "
                                f"at byte {exc.start}).") from None
    lines = text.split("\n")
    if lines and lines[-1].strip() == "":
        lines.pop()
    examples, tokens = [], 0
    for number, line in enumerate(lines, start=1):
        example = _parse_line(number, line)
        count = estimate_chat_tokens(example["messages"], example.get("tools") or [])
        if count > MAX_EXAMPLE_TOKENS:
            raise _fault(number, f"the example has about {count} tokens, over the limit of "
                                 f"{MAX_EXAMPLE_TOKENS}")
        examples.append(example)
        tokens += count
    if len(examples) < min_examples:
        raise TrainingFileError(
            f"Training file has {len(examples)} example(s), but must have at least "
            f"{min_examples} examples."
        )
    return TrainingSet(tuple(examples), tokens)


def _fault(number: int, problem: str) -> TrainingFileError:
    return TrainingFileError(f"Invalid file format. Line {number}: {problem}.")


def _parse_line(number: int, line: str) -> dict[str, Any]:
    if not line.strip():
        raise _fault(number, "the line is empty; every line must hold one JSON example")
    try:
        example = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _fault(number, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(example, dict):
        raise _fault(number, "expected a JSON object with a 'messages' list")
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _fault(number, "missing 'messages': expected a non-empty list of chat messages")
    tools = example.get("tools")
    if tools is not None and not (
        isinstance(tools, list) and all(isinstance(t, dict) and t.get("function") for t in tools)
    ):
        raise _fault(number, "'tools' must be a list of {\"type\": \"function\", \"function\": {...}}")
    learnable = 0
    for position, message in enumerate(messages, start=1):
        problem = _message_problem(message)
        if problem:
            raise _fault(number, f"message {position}: {problem}")
        if message["role"] == "assistant" and message.get("weight", 1) == 1:
            learnable += 1
    if learnable == 0:
        raise _fault(number, "no assistant message with weight 1 to learn from")
    return example


def _message_problem(message: Any) -> str | None:
    if not isinstance(message, dict):
        return "expected an object with 'role' and 'content'"
    role = message.get("role")
    if role not in ROLES:
        return f"unrecognised role {role!r}; expected one of {', '.join(ROLES)}"
    content = message.get("content")
    if content is not None and not isinstance(content, (str, list)):
        return "'content' must be a string or a list of content parts"
    if "weight" in message:
        if role != "assistant":
            return "'weight' is only allowed on assistant messages"
        if message["weight"] not in (0, 1) or isinstance(message["weight"], bool):
            return f"'weight' must be 0 or 1, got {message['weight']!r}"
    if role == "assistant":
        calls = message.get("tool_calls")
        if calls is not None and not _valid_tool_calls(calls):
            return "'tool_calls' must be a list of {id, type: function, function: {name, arguments}}"
        if not calls and not message.get("function_call") and not content:
            return "assistant message has neither content nor tool_calls"
    elif role == "tool" and not message.get("tool_call_id"):
        return "tool message without 'tool_call_id'"
    elif role in ("system", "developer", "user") and not content:
        return f"{role} message has no content"
    return None


def _valid_tool_calls(calls: Any) -> bool:
    if not isinstance(calls, list) or not calls:
        return False
    for call in calls:
        if not isinstance(call, dict) or call.get("type", "function") != "function":
            return False
        function = call.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            return False
        if not isinstance(function.get("arguments"), str) or not call.get("id"):
            return False
    return True

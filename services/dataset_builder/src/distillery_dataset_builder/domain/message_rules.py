"""Rules for the ``messages`` of one chat fine-tuning example.

Each message is checked on its own (role, keys, content, weight, tool calls), then the
conversation as a whole: a system message only first, at least one user and one
assistant message, and every tool message answering a call the assistant just made.
Messages are numbered from 1 in the text, as a person counts them in the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from distillery_dataset_builder.domain.issues import Issue, kind_of, kind_or_empty, quoted
from distillery_dataset_builder.domain.tool_rules import check_tool_calls

ROLES = ("system", "user", "assistant", "tool")
ALLOWED_KEYS: dict[str, tuple[str, ...]] = {
    "system": ("role", "content", "name"),
    "user": ("role", "content", "name"),
    "assistant": ("role", "content", "name", "tool_calls", "weight", "refusal"),
    "tool": ("role", "content", "tool_call_id"),
}


def check_messages(messages: list[Any], declared_tools: set[str] | None) -> list[Issue]:
    """Issues in a non-empty ``messages`` list; ``declared_tools`` is None without ``tools``."""
    conversation = _Conversation(declared_tools)
    for index, message in enumerate(messages):
        conversation.add(index, message)
    return conversation.finish()


@dataclass
class _Conversation:
    """Walks the messages in order, remembering what the order rules need."""

    declared_tools: set[str] | None
    issues: list[Issue] = field(default_factory=list)
    roles: set[str] = field(default_factory=set)
    pending_calls: dict[str, int] = field(default_factory=dict)
    answered_calls: set[str] = field(default_factory=set)
    last_calls: list[str] | None = None
    unreadable_roles: bool = False

    def add(self, index: int, message: Any) -> None:
        role = self._check_shape(index, message)
        if role is None:
            self.unreadable_roles = True
            return
        self.roles.add(role)
        if role == "system" and index > 0:
            self._issue(
                "system_not_first",
                f"message {index + 1} is a system message; a system message may only be the first message",
                index,
            )
        if role == "tool":
            self._answer_tool_call(index, message)
            return
        self._close_pending_calls(index, role)
        if role == "assistant":
            self._check_assistant(index, message)
        else:
            self._check_content(index, role, message, required=True)

    def finish(self) -> list[Issue]:
        if self.unreadable_roles:
            return self.issues  # a misspelt role may be the missing one: say only that
        for role in ("user", "assistant"):
            if role not in self.roles:
                self._issue(
                    f"missing_{role}_message",
                    f"no {role} message; an example needs at least one user and one assistant message",
                )
        return self.issues

    def _issue(self, code: str, text: str, index: int | None = None) -> None:
        self.issues.append(Issue(code, text, index))

    def _check_shape(self, index: int, message: Any) -> str | None:
        """Issues of the message's type, role and keys; its role when that is a known one."""
        number = index + 1
        if not isinstance(message, dict):
            self._issue(
                "invalid_message", f"message {number} must be an object, got {kind_of(message)}", index
            )
            return None
        if "role" not in message:
            self._issue(
                "missing_role", f'message {number} has no "role"; expected one of {", ".join(ROLES)}', index
            )
            return None
        role = message["role"]
        if role not in ROLES:
            self._issue(
                "unrecognized_role",
                f"message {number} has role {json.dumps(role)}; expected one of {', '.join(ROLES)}",
                index,
            )
            return None
        self._check_keys(index, role, message)
        return role

    def _check_keys(self, index: int, role: str, message: dict[str, Any]) -> None:
        number = index + 1
        if "weight" in message and role != "assistant":
            self._issue(
                "weight_not_on_assistant",
                f'message {number} ({role}) has "weight"; only assistant messages may have one',
                index,
            )
        extra = [key for key in message if key not in ALLOWED_KEYS[role] and key != "weight"]
        if extra:
            self._issue(
                "unrecognized_message_key",
                f"message {number} ({role}) has unrecognized key {quoted(extra)}; "
                f"allowed: {quoted(ALLOWED_KEYS[role])}",
                index,
            )
        if "name" in message and (not isinstance(message["name"], str) or not message["name"]):
            self._issue(
                "invalid_name",
                f'message {number} ({role}) "name" must be a non-empty string, '
                f"got {kind_of(message['name'])}",
                index,
            )

    def _check_content(self, index: int, role: str, message: dict[str, Any], required: bool) -> bool:
        """Issues of ``content``; True when the message carries some text."""
        label = f"message {index + 1} ({role})"
        content = message.get("content")
        if content is None:
            if required:
                self._issue("missing_content", f'{label} has no "content"', index)
            return False
        if isinstance(content, str):
            if not content and required and role != "tool":
                self._issue("empty_content", f"{label} has empty content", index)
            return bool(content)
        if not isinstance(content, list) or not content:
            self._issue(
                "invalid_content",
                f"{label} content must be a string or a non-empty list of text parts, got {kind_or_empty(content)}",
                index,
            )
            return False
        for position, part in enumerate(content, start=1):
            if not (
                isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
            ):
                got = f"type {json.dumps(part.get('type'))}" if isinstance(part, dict) else kind_of(part)
                self._issue(
                    "invalid_content_part",
                    f'{label} content part {position} must be {{"type": "text", "text": "..."}}, got {got}',
                    index,
                )
        return True

    def _check_assistant(self, index: int, message: dict[str, Any]) -> None:
        number = index + 1
        has_text = self._check_content(index, "assistant", message, required=False)
        has_calls = "tool_calls" in message and message["tool_calls"] is not None
        if not has_text and not has_calls:
            self._issue(
                "assistant_without_content",
                f'message {number} (assistant) has neither content nor "tool_calls"',
                index,
            )
        if "weight" in message:
            weight = message["weight"]
            if type(weight) is not int or weight not in (0, 1):
                self._issue(
                    "invalid_weight",
                    f"message {number} (assistant) has weight {json.dumps(weight)}; weight must be 0 or 1",
                    index,
                )
        if has_calls:
            calls = check_tool_calls(message["tool_calls"], index, self.declared_tools)
            self.issues.extend(calls.issues)
            self.pending_calls = {call_id: index for call_id in calls.ids}
            self.answered_calls = set()
            self.last_calls = calls.ids

    def _answer_tool_call(self, index: int, message: dict[str, Any]) -> None:
        number = index + 1
        self._check_content(index, "tool", message, required=True)
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            self._issue(
                "missing_tool_call_id",
                f'message {number} (tool) has no "tool_call_id" (a non-empty string)',
                index,
            )
        elif call_id in self.pending_calls:
            del self.pending_calls[call_id]
            self.answered_calls.add(call_id)
        elif call_id in self.answered_calls:
            self._issue(
                "duplicate_tool_response",
                f'message {number} (tool) answers tool call "{call_id}" a second time',
                index,
            )
        elif self.last_calls is None:
            self._issue(
                "orphan_tool_message",
                f"message {number} (tool) does not follow an assistant message with tool_calls",
                index,
            )
        else:
            made = ", ".join(f'"{made_id}"' for made_id in self.last_calls) or "none"
            self._issue(
                "orphan_tool_message",
                f'message {number} (tool) answers tool call "{call_id}", '
                f"which the assistant did not just make (its calls: {made})",
                index,
            )

    def _close_pending_calls(self, index: int, role: str) -> None:
        """A non-tool message ends the answers to the last tool calls."""
        for call_id, call_index in self.pending_calls.items():
            self._issue(
                "unanswered_tool_call",
                f'tool call "{call_id}" of message {call_index + 1} has no tool response '
                f"before message {index + 1} ({role})",
                call_index,
            )
        self.pending_calls = {}
        self.last_calls = None

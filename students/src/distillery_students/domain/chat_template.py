"""The project's chat template: OpenAI chat messages (with tools) to one prompt text.

SmolLM2's own template renders neither ``tools`` nor ``tool_calls``, and TRL's
assistant-only loss needs markers in the template. So training and serving share this one
ChatML template, with tools and calls in the Hermes form (``<tools>``, ``<tool_call>``)
that vLLM's ``hermes`` tool parser reads; ``chat_template.jinja`` beside this module is
the same template for vLLM (a unit test keeps the two equal).

:func:`render` returns the text and, for each message, where it lies in the text and
which characters carry loss (an assistant message's answer and its end marker, unless its
``weight`` is 0), so labels are built per message without template markers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TEMPLATE_NAME = "distillery-chatml-tools"
TEMPLATE_VERSION = 1

START, END = "<|im_start|>", "<|im_end|>"
ROLES = ("system", "developer", "user", "assistant", "tool")
TOOLS_PREAMBLE = (
    "\n\n# Tools\n\nYou may call one or more functions. Their signatures are inside <tools></tools>:\n"
    "<tools>\n"
)
TOOLS_POSTAMBLE = (
    "\n</tools>\n\nTo call a function, answer with a JSON object inside <tool_call></tool_call> tags:\n"
    '<tool_call>\n{"name": <function-name>, "arguments": <arguments-object>}\n</tool_call>'
)


class TemplateError(ValueError):
    """A conversation the template cannot render; the message says which message and why."""


@dataclass(frozen=True)
class MessageSpan:
    """Where message ``index`` lies in the rendered text; ``loss`` is the part that is learned."""

    index: int
    role: str
    start: int
    end: int
    loss: tuple[int, int] | None = None


@dataclass(frozen=True)
class Rendered:
    text: str
    messages: tuple[MessageSpan, ...] = field(default_factory=tuple)

    @property
    def loss_spans(self) -> list[tuple[int, int]]:
        return [span.loss for span in self.messages if span.loss is not None]


def render(messages: Any, tools: Any = None, *,
           add_generation_prompt: bool = False) -> Rendered:
    """Render a conversation; raises :class:`TemplateError` naming the first message it cannot."""
    if not isinstance(messages, Sequence) or isinstance(messages, str) or not messages:
        raise TemplateError('"messages" must be a non-empty list')
    tools_text = _tools_text(tools)
    parts: list[str] = []
    spans: list[MessageSpan] = []
    offset = 0
    if tools_text and _role_of(messages[0], 0) not in ("system", "developer"):
        parts.append(f"{START}system\n{tools_text.lstrip()}{END}\n")
        offset = len(parts[0])
    for index, message in enumerate(messages):
        role = _role_of(message, index)
        if role in ("system", "developer"):
            extra = tools_text if index == 0 else ""
            text, loss = f"{START}system\n{_content(message, index)}{extra}{END}\n", None
        elif role == "assistant":
            head = f"{START}assistant\n"
            body = _assistant_body(message, index) + END
            text = head + body + "\n"
            learned = message.get("weight", 1) != 0
            loss = (offset + len(head), offset + len(head) + len(body)) if learned else None
        else:
            text, loss = f"{START}{role}\n{_content(message, index)}{END}\n", None
        parts.append(text)
        spans.append(MessageSpan(index, role, offset, offset + len(text), loss))
        offset += len(text)
    if add_generation_prompt:
        parts.append(f"{START}assistant\n")
    return Rendered("".join(parts), tuple(spans))


def _role_of(message: Any, index: int) -> str:
    if not isinstance(message, Mapping):
        raise TemplateError(f"message {index + 1} is not an object")
    role = message.get("role")
    if role not in ROLES:
        raise TemplateError(f"message {index + 1} has role {json.dumps(role)}; the template renders "
                            f"{', '.join(ROLES)}")
    return str(role)


def _content(message: Mapping[str, Any], index: int, *, optional: bool = False) -> str:
    content = message.get("content")
    if content is None and optional:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, Mapping) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
                raise TemplateError(f"message {index + 1} ({message['role']}) has a {json.dumps(kind)} content "
                                    "part; the template renders text only")
            texts.append(part["text"])
        return "".join(texts)
    raise TemplateError(f"message {index + 1} ({message['role']}) has no text content")


def _assistant_body(message: Mapping[str, Any], index: int) -> str:
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise TemplateError(f"message {index + 1} (assistant) has tool_calls that are not a list")
    refusal = message.get("refusal")
    content = _content(message, index, optional=bool(calls) or isinstance(refusal, str))
    if not content and isinstance(refusal, str):
        content = refusal
    rendered = [_tool_call_text(call, index) for call in calls]
    return content + "".join(("\n" if content or n else "") + text for n, text in enumerate(rendered))


def _tool_call_text(call: Any, index: int) -> str:
    function = call.get("function") if isinstance(call, Mapping) else None
    name = function.get("name") if isinstance(function, Mapping) else None
    if not isinstance(function, Mapping) or not isinstance(name, str) or not name:
        raise TemplateError(f"message {index + 1} (assistant) has a tool call without a function name")
    arguments = function.get("arguments", "{}")
    if isinstance(arguments, str):
        try:
            parsed = json.loads(arguments)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            raise TemplateError(f"message {index + 1} (assistant) calls {name} with arguments that are "
                                "not a JSON object")
    elif isinstance(arguments, Mapping):
        arguments = json.dumps(arguments, ensure_ascii=False)
    else:
        raise TemplateError(f"message {index + 1} (assistant) calls {name} with arguments that are "
                            "not a JSON object")
    return f'<tool_call>\n{{"name": {json.dumps(name, ensure_ascii=False)}, "arguments": {arguments}}}\n</tool_call>'


def _tools_text(tools: Sequence[Any] | None) -> str:
    if not tools:
        return ""
    if not isinstance(tools, Sequence) or isinstance(tools, str):
        raise TemplateError('"tools" must be a list')
    for number, tool in enumerate(tools, 1):
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise TemplateError(f"tool {number} is not a function with a name")
    lines = "\n".join(json.dumps(tool, ensure_ascii=False) for tool in tools)
    return TOOLS_PREAMBLE + lines + TOOLS_POSTAMBLE


# ---- reading a completion back -------------------------------------------------------------

_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)


@dataclass(frozen=True)
class ParsedCall:
    name: str
    arguments: str  # a JSON object, as OpenAI's API carries it


@dataclass(frozen=True)
class ParsedCompletion:
    content: str | None
    tool_calls: tuple[ParsedCall, ...] = ()


def parse_completion(text: str) -> ParsedCompletion:
    """Split generated text into content and the template's tool calls.

    A ``<tool_call>`` block that is not a JSON object with a name stays in the content, as
    vLLM's hermes parser leaves it: the caller sees what the model said.
    """
    calls: list[ParsedCall] = []
    kept: list[str] = []
    position = 0
    for match in _CALL.finditer(text):
        call = _parse_call(match.group(1))
        if call is None:
            continue
        kept.append(text[position:match.start()])
        position = match.end()
        calls.append(call)
    kept.append(text[position:])
    content = "".join(kept).strip()
    return ParsedCompletion(content or (None if calls else ""), tuple(calls))


def _parse_call(body: str) -> ParsedCall | None:
    try:
        value = json.loads(body)
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None
    arguments = value.get("arguments", {})
    if isinstance(arguments, str):
        return ParsedCall(value["name"], arguments)
    return ParsedCall(value["name"], json.dumps(arguments, ensure_ascii=False))

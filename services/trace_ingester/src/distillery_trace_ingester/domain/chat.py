"""A generation's ``input`` and ``output`` as Langfuse stores them, read as OpenAI chat messages.

The v2 observations API returns both as the raw strings that were ingested. What they
hold depends on who recorded the call: the Langfuse OpenAI integration stores a list of
messages, or ``{"messages": [...], "tools": [...]}`` when tools were offered, and the
assistant message as output; other recorders store the whole completion
(``{"choices": [...]}``) or plain text. Every reason raised here names the shape that
was found, never the text, because reasons end up in the dead-letter topic and logs.
"""

from __future__ import annotations

import json
from typing import Any

from distillery_contracts.messages import ChatRole
from distillery_trace_ingester.domain import json_text
from distillery_trace_ingester.domain.errors import UnmappableObservation

Message = dict[str, Any]

_ROLES = {role.value for role in ChatRole}
_MESSAGE_KEYS = ("role", "content", "tool_calls", "function_call")


def parse_input(raw: Any) -> tuple[list[Message], list[Message]]:
    """The request's messages and the tools offered with it, shaped for ``ChatMessage``.

    Only the shape is checked here; the contract validates the values, once for the whole
    event (validating message by message costs several times more at 25,000 a run).
    """
    if raw is None:
        raise UnmappableObservation("input is missing: the generation recorded no request messages")
    value = _decoded(raw, "input")
    if isinstance(value, str):
        raise UnmappableObservation("input is plain text, not a list of chat messages")
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        return _messages(value["messages"], "input"), _tools(value)
    if isinstance(value, dict) and "role" in value:
        return _messages([value], "input"), []
    if isinstance(value, list):
        return _messages(value, "input"), []
    raise UnmappableObservation(
        f"input is {_kind(value)}, not a list of chat messages or an object with a 'messages' list"
    )


def parse_output(raw: Any) -> tuple[Message | None, str | None]:
    """The assistant's answer and the finish reason when the recorder kept one."""
    if raw is None:
        return None, None
    try:
        value = _decoded(raw, "output")
    except UnmappableObservation:
        value = raw  # an answer that merely looks like JSON is still an answer
    if value is None:
        return None, None
    if isinstance(value, str):
        return _assistant({"role": "assistant", "content": value}), None
    if isinstance(value, list):
        if not value:
            return None, None
        return parse_output(value[0])  # n > 1: the first choice is the one the caller heard
    if not isinstance(value, dict):
        raise UnmappableObservation(f"output is {_kind(value)}, not an assistant message or text")
    if isinstance(value.get("choices"), list):
        choices = value["choices"]
        return parse_output(choices[0]) if choices else (None, None)
    if isinstance(value.get("message"), dict):
        message, _ = parse_output(value["message"])
        return message, _text_or_none(value.get("finish_reason"))
    if any(key in value for key in _MESSAGE_KEYS):
        return _assistant(value), _text_or_none(value.get("finish_reason"))
    # A JSON object without message keys is the model's own JSON answer (JSON mode).
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
    return _assistant({"role": "assistant", "content": text}), None


def _decoded(raw: Any, field: str) -> Any:
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    try:
        return json_text.loads(text)
    except json.JSONDecodeError as exc:
        if not text or text[0] not in "[{":
            return raw  # plain text
        raise UnmappableObservation(
            f"{field} looks like JSON but does not parse (line {exc.lineno}, column {exc.colno}): "
            "truncated or corrupted"
        ) from None


def _messages(items: list[Any], field: str) -> list[Message]:
    return [_message(item, f"{field} message {index}") for index, item in enumerate(items)]


def _message(item: Any, where: str) -> Message:
    if not isinstance(item, dict):
        raise UnmappableObservation(f"{where} is {_kind(item)}, not an object")
    role = item.get("role")
    if role == "function":
        raise UnmappableObservation(
            f"{where} has role 'function' (legacy function calling), which has no place in "
            "the chat format; record tool calls instead"
        )
    if not isinstance(role, str) or role not in _ROLES:
        shown = repr(role) if isinstance(role, str) and len(role) <= 20 else _kind(role)
        raise UnmappableObservation(f"{where} has role {shown}; expected one of {sorted(_ROLES)}")
    fields: dict[str, Any] = {"role": role, "content": _content(item.get("content"), where)}
    if isinstance(item.get("name"), str):
        fields["name"] = item["name"]
    calls = _tool_calls(item, where)
    if calls:
        fields["tool_calls"] = calls
    if item.get("tool_call_id") is not None:
        fields["tool_call_id"] = str(item["tool_call_id"])
    return fields


def _content(content: Any, where: str) -> Any:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for index, part in enumerate(content):
            if isinstance(part, str):
                parts.append({"type": "text", "text": part})
            elif isinstance(part, dict) and isinstance(part.get("type"), str):
                parts.append(part)
            else:
                raise UnmappableObservation(
                    f"{where} content part {index} is {_kind(part)} without a 'type'"
                )
        return parts
    raise UnmappableObservation(f"{where} content is {_kind(content)}, not text or a list of parts")


def _tool_calls(item: dict[str, Any], where: str) -> list[dict[str, Any]]:
    calls = item.get("tool_calls") or []
    if item.get("function_call"):
        # Legacy single function call: kept as the one tool call it is equivalent to.
        calls = [*calls, {"id": "function_call", "type": "function", "function": item["function_call"]}]
    if not isinstance(calls, list):
        raise UnmappableObservation(f"{where} tool_calls is {_kind(calls)}, not a list")
    out = []
    for index, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not call.get("id"):
            raise UnmappableObservation(f"{where} tool call {index} lacks an id or a function")
        arguments = function.get("arguments", "")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)  # some recorders keep the object
        out.append({"id": str(call["id"]), "type": "function",
                    "function": {"name": function.get("name"), "arguments": arguments}})
    return out


def _tools(request: dict[str, Any]) -> list[Message]:
    tools = request.get("tools") or []
    functions = request.get("functions") or []
    if not isinstance(tools, list) or not isinstance(functions, list):
        raise UnmappableObservation("input tools (or functions) is not a list")
    tools = [*tools, *({"type": "function", "function": f} for f in functions)]
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise UnmappableObservation(f"input tool {index} is {_kind(tool)}, not an object")
    return tools


def _assistant(value: dict[str, Any]) -> Message:
    role = value.get("role") or "assistant"
    if role != "assistant":
        shown = repr(role) if isinstance(role, str) and len(role) <= 20 else _kind(role)
        raise UnmappableObservation(f"output message has role {shown}, not 'assistant'")
    return _message({**value, "role": role}, "output message")


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)

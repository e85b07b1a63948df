"""Rules for tool definitions (``tools``) and the tool calls an assistant makes.

From OpenAI's fine-tuning input schema: a tool is ``{"type": "function", "function":
{...}}`` whose name matches ``^[a-zA-Z0-9_-]{1,64}$`` and whose ``parameters``, when
present, are a JSON Schema object; a tool call has an ``id``, ``type: "function"`` and a
``function`` with the name of a declared tool and JSON ``arguments``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from distillery_dataset_builder.domain.issues import Issue, kind_of, kind_or_empty, quoted

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
TOOL_KEYS = ("type", "function")
FUNCTION_KEYS = ("name", "description", "parameters", "strict")


def check_tools(tools: Any) -> tuple[list[Issue], set[str]]:
    """Issues in an example's ``tools`` and the names it declares."""
    if not isinstance(tools, list):
        return [
            Issue("invalid_tools", f'"tools" must be a list of tool definitions, got {kind_of(tools)}')
        ], set()
    issues: list[Issue] = []
    declared: set[str] = set()
    for position, tool in enumerate(tools, start=1):
        name = _check_tool(position, tool, issues)
        if name is None:
            continue
        if name in declared:
            issues.append(Issue("duplicate_tool_name", f'tool {position} repeats the name "{name}"'))
        declared.add(name)
    return issues, declared


def _check_tool(position: int, tool: Any, issues: list[Issue]) -> str | None:
    """Issues of one tool definition; its name when that is usable."""
    label = f"tool {position}"
    if not isinstance(tool, dict):
        shape = '{"type": "function", "function": {...}}'
        issues.append(Issue("invalid_tool", f"{label} must be an object like {shape}, got {kind_of(tool)}"))
        return None
    issues.extend(_unrecognized_keys(label, tool, TOOL_KEYS))
    if tool.get("type") != "function":
        got = json.dumps(tool.get("type"))
        issues.append(Issue("invalid_tool_type", f'{label} has type {got}; expected "function"'))
    function = tool.get("function")
    if not isinstance(function, dict):
        issues.append(Issue("invalid_tool", f'{label} needs a "function" object, got {kind_of(function)}'))
        return None
    return _check_function(label, function, issues)


def _check_function(label: str, function: dict[str, Any], issues: list[Issue]) -> str | None:
    issues.extend(_unrecognized_keys(f"{label} function", function, FUNCTION_KEYS))
    name = function.get("name")
    if not isinstance(name, str) or not TOOL_NAME.match(name):
        pattern = TOOL_NAME.pattern
        issues.append(
            Issue("invalid_tool_name", f"{label} has name {json.dumps(name)}; names must match {pattern}")
        )
        name = None
    description = function.get("description")
    if "description" in function and not isinstance(description, str):
        issues.append(
            Issue("invalid_tool", f"{label} description must be a string, got {kind_of(description)}")
        )
    if "parameters" in function and not _is_object_schema(function["parameters"]):
        issues.append(
            Issue(
                "invalid_tool_parameters",
                f"{label} ({json.dumps(function.get('name'))}) parameters must be "
                'a JSON Schema object with "type": "object"',
            )
        )
    return name


def _unrecognized_keys(label: str, value: dict[str, Any], allowed: tuple[str, ...]) -> list[Issue]:
    extra = [key for key in value if key not in allowed]
    if not extra:
        return []
    text = f"{label} has unrecognized key {quoted(extra)}; allowed: {quoted(allowed)}"
    return [Issue("unrecognized_tool_key", text)]


def _is_object_schema(parameters: Any) -> bool:
    if not isinstance(parameters, dict) or parameters.get("type") != "object":
        return False
    return isinstance(parameters.get("properties", {}), dict)


@dataclass
class ToolCalls:
    """What an assistant message's ``tool_calls`` held: its issues and the call ids."""

    issues: list[Issue] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


def check_tool_calls(calls: Any, index: int, declared: set[str] | None) -> ToolCalls:
    """Issues in the ``tool_calls`` of the assistant message at ``index``.

    ``declared`` holds the example's tool names, None when it has no ``tools``.
    """
    result = ToolCalls()
    owner = f"message {index + 1} (assistant)"
    if not isinstance(calls, list) or not calls:
        result.issues.append(
            Issue(
                "invalid_tool_calls",
                f'{owner} "tool_calls" must be a non-empty list, got {kind_or_empty(calls)}',
                index,
            )
        )
        return result
    for position, call in enumerate(calls, start=1):
        label = f"tool call {position} of message {index + 1}"
        call_id = _check_tool_call(label, call, declared, result.issues, index)
        if call_id is None:
            continue
        if call_id in result.ids:
            result.issues.append(
                Issue("duplicate_tool_call_id", f'{label} repeats the id "{call_id}"', index)
            )
        result.ids.append(call_id)
    return result


def _check_tool_call(
    label: str, call: Any, declared: set[str] | None, issues: list[Issue], index: int
) -> str | None:
    """Issues of one tool call; its id when that is usable."""
    if not isinstance(call, dict):
        text = f'{label} must be an object with "id", "type" and "function", got {kind_of(call)}'
        issues.append(Issue("invalid_tool_call", text, index))
        return None
    if call.get("type") != "function":
        text = f'{label} has type {json.dumps(call.get("type"))}; expected "function"'
        issues.append(Issue("invalid_tool_call", text, index))
    function = call.get("function")
    if isinstance(function, dict):
        _check_called_function(label, function, declared, issues, index)
    else:
        text = f'{label} needs a "function" object with "name" and "arguments", got {kind_of(function)}'
        issues.append(Issue("invalid_tool_call", text, index))
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        issues.append(Issue("missing_tool_call_id", f'{label} has no "id" (a non-empty string)', index))
        return None
    return call_id


def _check_called_function(
    label: str, function: dict[str, Any], declared: set[str] | None, issues: list[Issue], index: int
) -> None:
    name = function.get("name")
    if not isinstance(name, str):
        issues.append(Issue("invalid_tool_call", f'{label} has no function "name"', index))
    elif declared is None:
        text = f'{label} calls "{name}", but the example declares no "tools"'
        issues.append(Issue("undeclared_tool", text, index))
    elif name not in declared:
        known = ", ".join(sorted(declared)) or "none"
        text = f'{label} calls "{name}", which is not declared in "tools" (declared: {known})'
        issues.append(Issue("undeclared_tool", text, index))
    problem = _arguments_problem(function.get("arguments"))
    if problem:
        issues.append(Issue("invalid_tool_arguments", f"{label} arguments {problem}", index))


def _arguments_problem(arguments: Any) -> str | None:
    """What is wrong with a call's ``arguments`` (a string holding a JSON object), if anything."""
    if not isinstance(arguments, str):
        return f"must be a string of JSON, got {kind_of(arguments)}"
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError as exc:
        return f"are not valid JSON: {exc.msg} at column {exc.colno}"
    except RecursionError:
        return "are not valid JSON: nested too deeply"
    if not isinstance(parsed, dict):
        return f"must be a JSON object, got {kind_of(parsed)}"
    return None


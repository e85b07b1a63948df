"""Tools lists validated once per distinct list, for the events that carry one.

A deployment sends the same few tools lists with every call, so every generation and every
accepted example repeats one of them: a quarter of a generation's JSON, and of its validation.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Generic, TypeVar

import msgspec
from pydantic import BaseModel, TypeAdapter, ValidationError

from distillery_contracts.messages import ToolDefinition


class _ToolsValue(msgspec.Struct):
    """Where an event's top-level ``tools`` value stands in its JSON, read without the rest."""

    tools: msgspec.Raw = msgspec.Raw()


Model = TypeVar("Model", bound=BaseModel)
Value = TypeVar("Value")
_TOOLS_KEY = re.compile(rb'"tools"[ \t\n\r]*:[ \t\n\r]*')
_TOOLS = TypeAdapter(list[ToolDefinition])


class SharedTools:
    """Tools lists validated once, by their JSON's bytes (the last ``size`` distinct ones).

    ``decode`` cuts the ``tools`` value out of a body, validates the rest with pydantic as it is,
    and puts the list validated earlier from the same bytes in its place. The models it decodes
    have no validator across fields nor of their tools (it checks), so the rest and the list are
    valid apart exactly when they are together. Where that split is not certain (the body is no
    JSON object, ``"tools"`` appears twice, the list is empty, the one plain ``"tools"`` is a nested
    key's beside the event's own spelled with escapes) or anything fails, the whole body goes
    through ``model_validate_json``: the same result, the same error.

    The events decoded from one list share its objects: read them, never change them.
    """

    def __init__(self, size: int = 64) -> None:
        self._validated = lru_cache(maxsize=size)(_TOOLS.validate_json)
        self._split = msgspec.json.Decoder(_ToolsValue)
        self._checked: set[type[BaseModel]] = set()

    def _check(self, model: type[BaseModel]) -> None:
        field = model.model_fields.get("tools")
        if field is None or field.annotation != list[ToolDefinition]:
            raise TypeError(f"{model.__name__} has no tools: list[ToolDefinition] to share")
        decorators = model.__pydantic_decorators__
        if decorators.model_validators or any("tools" in v.info.fields or "*" in v.info.fields
                                              for v in decorators.field_validators.values()):
            raise TypeError(f"{model.__name__} validates across fields: its tools cannot be validated apart")
        self._checked.add(model)

    def decode(self, model: type[Model], body: bytes) -> Model:
        """``model.model_validate_json(body)``, its tools list from the cache."""
        if model not in self._checked:
            self._check(model)
        event = self._from_parts(model, body)
        return event if event is not None else model.model_validate_json(body)

    def _from_parts(self, model: type[Model], body: bytes) -> Model | None:
        """The event from the rest of the body and the cached list; None where the split is not
        certain or a part is invalid (the whole body then says why, as pydantic says it)."""
        try:
            cut = self._cut(body)
            if cut is None:
                return None
            rest, tools = cut
            event = model.model_validate_json(rest)
            if event.__dict__["tools"]:  # the event's own key is spelled with escapes: a nested list was cut
                return None
            event.__dict__["tools"] = self._validated(tools)
        except (msgspec.MsgspecError, ValidationError):
            return None
        return event

    def _cut(self, body: bytes) -> tuple[bytes, bytes] | None:
        """The body with ``"tools": []`` and the tools value's bytes, if the split is certain."""
        tools = self._split.decode(body).tools
        if len(tools) <= 2:  # absent, or empty
            return None
        at = body.find(b'"tools"')
        if body.find(b'"tools"', at + 1) != -1:  # a second key, maybe at another level
            return None
        key = _TOOLS_KEY.match(body, at)
        if key is None or not body.startswith(tools, key.end()):
            return None
        return body[:key.end()] + b"[]" + body[key.end() + len(tools):], bytes(tools)


class ByIdentity(Generic[Value]):
    """What a consumer derives from a tools list, found by the identity of the list's tools: the
    lists ``SharedTools`` gives are found without writing them. An entry holds the tools, so no
    other object can take their ids while it is kept. At most ``size`` lists are kept (all are
    forgotten when a new one would pass that: a deployment has a few). Each get, set and clear is
    one dict operation, so threads may share it."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._entries: dict[tuple[int, ...], tuple[tuple[ToolDefinition, ...], Value]] = {}

    def get(self, tools: list[ToolDefinition]) -> Value | None:
        entry = self._entries.get(tuple(map(id, tools)))
        return entry[1] if entry is not None else None

    def put(self, tools: list[ToolDefinition], value: Value) -> Value:
        if len(self._entries) >= self._size:
            self._entries.clear()
        self._entries[tuple(map(id, tools))] = (tuple(tools), value)
        return value

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


SHARED_TOOLS = SharedTools()
"""The process's cache: what ``TraceCaptured.decode_json`` and ``ExampleAccepted.decode_json`` use."""

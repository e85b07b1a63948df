"""Decoding message bodies into events, upgrading older schema versions on the way.

A consumer on schema version N reads N-1 (and older) payloads through explicit
``upcast_<type>_v<N-1>_to_v<N>`` functions registered here; payloads of a newer
version validate with the current model as long as they only added optional fields,
which ``schemagen`` enforces. Every failure raises a ``DecodeError`` subclass whose
message is fit to become the reason of a dead letter.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from distillery_contracts.base import Event, TopicSpec
from distillery_contracts.envelope import Envelope

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]
UpcasterRegistry = Mapping[tuple[str, int], Upcaster]

UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""Shipped upcasters keyed by (event type, version they upgrade from). None yet: every
event is at version 1."""


class DecodeError(ValueError):
    """A message body that cannot become an event; the message goes to the DLQ."""

    message_is_safe = True
    """Messages name fields, kinds and positions, never input values, so logs and dead letters
    may carry them (``distillery_runtime.safe_errors``)."""


class UnknownEventType(DecodeError):
    """The envelope names an event type that the topic does not carry."""


class MissingUpcaster(DecodeError):
    """An older schema version with no upcaster path to the current one."""


class InvalidPayload(DecodeError):
    """The body is not JSON, or does not validate against the event model."""


def register_upcaster(
    event_type: str, from_version: int, registry: dict[tuple[str, int], Upcaster] = UPCASTERS
) -> Callable[[Upcaster], Upcaster]:
    """Decorator registering a function that turns a ``from_version`` payload into the next."""

    def register(func: Upcaster) -> Upcaster:
        key = (event_type, from_version)
        if key in registry:
            raise ValueError(f"an upcaster for {event_type} v{from_version} is already registered")
        registry[key] = func
        return func

    return register


def upcast(
    event_type: str,
    payload: Payload,
    from_version: int,
    to_version: int,
    upcasters: UpcasterRegistry = UPCASTERS,
) -> Payload:
    """Apply the upcaster chain ``from_version -> ... -> to_version`` to a payload."""
    for version in range(from_version, to_version):
        step = upcasters.get((event_type, version))
        if step is None:
            raise MissingUpcaster(
                f"{event_type} v{from_version} cannot be read as v{to_version}: "
                f"no upcaster from v{version} to v{version + 1}"
            )
        payload = step(payload)
    return payload


def decode_event(
    spec: TopicSpec, envelope: Envelope, body: bytes, upcasters: UpcasterRegistry = UPCASTERS
) -> Event:
    """Turn a message body from ``spec``'s topic into its event, upcasting older versions."""
    model = spec.event_class(envelope.event_type)
    if model is None:
        known = ", ".join(e.event_type for e in spec.events)
        raise UnknownEventType(
            f"topic {spec.name} does not carry event type {envelope.event_type!r} (it carries: {known})"
        )
    where = f"{envelope.event_type} v{envelope.schema_version} on {spec.name}"
    try:
        if envelope.schema_version >= model.schema_version:
            return model.decode_json(body)
        payload = _parse_object(body, where)
        payload = upcast(
            envelope.event_type, payload, envelope.schema_version, model.schema_version, upcasters
        )
        return model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidPayload(f"{where} is invalid: {_summarise(exc)}") from exc


def _parse_object(body: bytes, where: str) -> Payload:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidPayload(f"{where} is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise InvalidPayload(f"{where} must be a JSON object, got {type(payload).__name__}")
    return payload


def _summarise(exc: ValidationError, limit: int = 5) -> str:
    """First few errors as 'field.path: message', without echoing (possibly PII) input values."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:limit]:
        location = ".".join(str(p) for p in error["loc"]) or "(body)"
        parts.append(f"{location}: {error['msg']}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")

"""Size limits as a contract: no service writes an event the broker would refuse.

Kafka refuses a record batch over the broker's ``message.max.bytes`` (or the topic's
``max.message.bytes``), 1,048,588 bytes by default. An event over it, once in the outbox,
would be refused on every relay round and hold back every event behind it; a dead letter
over it would make the consumer give up on nothing and rewind for ever. So every event is
measured as the broker will see it (key, body and headers of one record) against one
setting, ``DISTILLERY_MAX_EVENT_BYTES``, before it is written anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError

from distillery_runtime.errors import PermanentError

DEFAULT_MAX_EVENT_BYTES = 1_000_000
"""Kafka's default ``message.max.bytes`` (1,048,588) less room for a record batch's framing
(61 bytes a batch, up to 20 a record), rounded down: a record this size fits a batch of its own."""

BARE_DEAD_LETTER_BYTES = 8 * 1024
"""What a dead letter is cut to when the broker refused it at ``DISTILLERY_MAX_EVENT_BYTES``:
its reason and origin, and the message's first few KB. A broker that refuses this much refuses every
event, so that refusal is the broker's failure, not the message's."""

_TOO_LARGE = (MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError)


class EventTooLarge(PermanentError):
    """An event over ``DISTILLERY_MAX_EVENT_BYTES``: it is never written to the outbox, and
    the message that caused it is dead-lettered with this reason."""


def record_size(key: str | bytes | None, payload: bytes, headers: Mapping[str, str]) -> int:
    """Bytes of one Kafka record's key, value and headers (name to text, as the outbox keeps
    them): what the broker's limit counts."""
    key_bytes = key.encode() if isinstance(key, str) else key or b""
    return len(key_bytes) + len(payload) + sum(len(name.encode()) + len(value.encode())
                                               for name, value in headers.items())


def is_too_large(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a "record too large" refusal, ours or the broker's."""
    while exc is not None:
        if isinstance(exc, (EventTooLarge, *_TOO_LARGE)):
            return True
        exc = exc.__cause__  # type: ignore[assignment]
    return False

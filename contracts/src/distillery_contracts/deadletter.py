"""Dead letters: messages that could never be processed, published on ``<topic>.dlq``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import ClassVar, Self, TypeVar

from pydantic import AwareDatetime, Field

from distillery_contracts.base import Event


class DeadLettered(Event):
    """A message (or a source record) a consumer gave up on, with the error and its origin.

    Carries the original key, headers and value so that an operator can inspect it and
    republish it after a fix. The event id is derived from the message's position and
    the consumer group, so a repeated dead-lettering of the same message is seen once.
    """

    event_type: ClassVar[str] = "DeadLettered"
    schema_version: ClassVar[int] = 1

    error_type: str = Field(
        min_length=1, description="Exception class name, e.g. 'ValidationError'."
    )
    error_message: str = Field(description="The error's message: the reason the message failed.")
    source_topic: str = Field(
        min_length=1,
        description="Topic the message came from; for records read outside Kafka (e.g. a "
        "Langfuse observation that cannot be mapped) the source, like 'langfuse:<project>'.",
    )
    partition: int | None = Field(
        default=None, ge=0, description="Source partition; None outside Kafka."
    )
    offset: int | None = Field(default=None, ge=0, description="Source offset; None outside Kafka.")
    consumer_group: str | None = Field(
        default=None, description="Group of the consumer that failed."
    )
    attempts: int = Field(ge=1, description="How many times processing was tried.")
    failed_at: AwareDatetime = Field(description="When the consumer gave up.")
    original_key: str | None = Field(default=None, description="The message key as UTF-8 text.")
    original_headers: dict[str, str] = Field(
        default_factory=dict, description="The message headers, values as UTF-8 text."
    )
    original_value: str = Field(
        description="The message body as UTF-8 text (undecodable bytes replaced by U+FFFD); "
        "only its beginning, or nothing, when original_bytes is set."
    )
    original_bytes: int | None = Field(
        default=None,
        ge=0,
        description="Set when the message was too large for its dead letter to carry whole (a "
        "dead letter must fit the broker's message limit): the body's length in bytes, of which "
        "original_value keeps the beginning (and original_headers and original_key may be "
        "emptied, error_message shortened). None: the message is whole.",
    )

    @classmethod
    def from_message(
        cls,
        *,
        error: BaseException,
        source_topic: str,
        value: bytes,
        attempts: int,
        key: bytes | None = None,
        headers: Iterable[tuple[str, bytes]] = (),
        partition: int | None = None,
        offset: int | None = None,
        consumer_group: str | None = None,
    ) -> DeadLettered:
        """Build a dead letter from a raw Kafka message and the error it raised."""
        return cls(
            error_type=type(error).__name__,
            error_message=str(error) or repr(error),
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            consumer_group=consumer_group,
            attempts=attempts,
            failed_at=datetime.now(UTC),
            original_key=_text(key),
            original_headers={k: _text(v) or "" for k, v in headers},
            original_value=_text(value) or "",
        )

    def event_id(self) -> str | None:
        if self.partition is None or self.offset is None:
            return None
        group = self.consumer_group or "-"
        return f"{self.source_topic}:{self.partition}:{self.offset}:{group}"

    def partition_key(self) -> str | None:
        return self.original_key

    def shortened_to(self, max_bytes: int) -> Self:
        """Cut the body from its end, then drop the original headers, then cut the original
        key and the error message, until the JSON body fits ``max_bytes``; the error type,
        the origin and the attempts always stay, so the letter still says why and where."""
        if _json_size(self) <= max_bytes:
            return self
        whole = self.original_bytes if self.original_bytes is not None else len(self.original_value.encode())
        letter = self.model_copy(update={"original_bytes": whole})
        for name in ("original_value", "original_headers", "original_key", "error_message"):
            if _json_size(letter) <= max_bytes:
                break
            letter = _shortest_cut(letter, name, max_bytes)
        return letter


_Letter = TypeVar("_Letter", bound=DeadLettered)


def _json_size(event: Event) -> int:
    return len(event.model_dump_json().encode())


def _shortest_cut(letter: _Letter, name: str, max_bytes: int) -> _Letter:
    """``letter`` with field ``name`` emptied, or, when that is more than needed, text cut to the
    longest beginning that fits (searched: a character costs one to six bytes of JSON)."""
    value = getattr(letter, name)
    empty = {} if isinstance(value, dict) else "" if isinstance(value, str) else value
    emptied = letter.model_copy(update={name: empty})
    if not isinstance(value, str) or _json_size(emptied) > max_bytes:
        return emptied
    fits, too_long = 0, len(value)
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if _json_size(letter.model_copy(update={name: value[:middle]})) <= max_bytes:
            fits = middle
        else:
            too_long = middle
    return letter.model_copy(update={name: value[:fits]})


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "replace")

"""Dead-letter sinks: where a message goes when it can never be applied.

The dead letter keeps everything needed to understand and replay the message: the
error, where it came from (topic, partition, offset, consumer group), how many times
it was tried, and the original key, headers and value (cut to fit the broker's limit).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import MessageSizeTooLargeError

from distillery_contracts.deadletter import DeadLettered
from distillery_contracts.envelope import Envelope
from distillery_runtime.logs import get_logger
from distillery_runtime.metrics import EVENTS_TOO_LARGE, MESSAGES_DEAD_LETTERED
from distillery_runtime.outbox import OutgoingMessage
from distillery_runtime.safe_errors import safe_summary
from distillery_runtime.sizes import BARE_DEAD_LETTER_BYTES, DEFAULT_MAX_EVENT_BYTES, is_too_large

log = get_logger(__name__)


@dataclass(frozen=True)
class FailedRecord:
    """A consumed record, the error that stopped it, and how often it was tried."""

    record: Any
    error: BaseException
    attempts: int
    group: str


def dead_letter_for(failed: FailedRecord) -> DeadLettered:
    record = failed.record
    headers = {k: v.decode("utf-8", "replace") for k, v in (record.headers or ())}
    return DeadLettered(
        error_type=type(failed.error).__name__,
        error_message=safe_summary(failed.error),
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        consumer_group=failed.group,
        attempts=failed.attempts,
        failed_at=datetime.now(UTC),
        original_key=record.key.decode("utf-8", "replace") if record.key is not None else None,
        original_headers=headers,
        original_value=(record.value or b"").decode("utf-8", "replace"),
    )


class AbstractDeadLetterSink(abc.ABC):
    """Publishes a dead letter and returns only once it is safely stored.

    A letter is never over ``max_event_bytes``: the message it carries is cut to fit (see
    ``DeadLettered.shortened_to``). When the broker refuses it as too large all the same (its
    limit is below ``DISTILLERY_MAX_EVENT_BYTES``), it goes again with the reason, the origin and
    the message's first few KB, so a message too large for the broker never makes its consumer
    rewind for ever.
    """

    def __init__(self, service: str, producer: str, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.service = service
        self.producer = producer
        self.max_event_bytes = max_event_bytes

    async def send(self, failed: FailedRecord) -> None:
        letter = dead_letter_for(failed)
        envelope = Envelope.new(
            event_type=letter.event_type,
            schema_version=letter.schema_version,
            producer=self.producer,
            event_id=f"dlq:{failed.group}:{letter.source_topic}:{letter.partition}:{letter.offset}",
        )
        topic = f"{letter.source_topic}.dlq"
        try:
            await self._publish(OutgoingMessage.of(topic, letter, envelope, max_bytes=self.max_event_bytes))
        except Exception as exc:
            if not is_too_large(exc):
                raise
            EVENTS_TOO_LARGE.labels(self.service, letter.source_topic, "dead_letter").inc()
            log.warning("dead letter refused as too large; sending it again with the message cut short",
                        topic=letter.source_topic, partition=letter.partition, offset=letter.offset,
                        max_event_bytes=self.max_event_bytes)
            await self._publish(OutgoingMessage.of(topic, letter, envelope, max_bytes=BARE_DEAD_LETTER_BYTES))
        MESSAGES_DEAD_LETTERED.labels(self.service, letter.source_topic, letter.error_type).inc()

    @abc.abstractmethod
    async def _publish(self, message: OutgoingMessage) -> None:
        """Publish and wait for the broker's acknowledgement."""


class FakeDeadLetterSink(AbstractDeadLetterSink):
    """Records dead letters in memory, for unit tests; ``refuse_over`` makes it refuse records
    over that many bytes, as a broker with a lower message limit would."""

    def __init__(self, service: str = "test", producer: str = "test/0", *,
                 max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES, refuse_over: int | None = None) -> None:
        super().__init__(service, producer, max_event_bytes=max_event_bytes)
        self.refuse_over = refuse_over
        self.sent: list[tuple[str, DeadLettered]] = []
        self.sizes: list[int] = []
        self.messages: list[OutgoingMessage] = []

    async def _publish(self, message: OutgoingMessage) -> None:
        if self.refuse_over is not None and message.size > self.refuse_over:
            raise MessageSizeTooLargeError(f"{message.size} bytes")
        self.sent.append((message.topic, DeadLettered.model_validate_json(message.payload)))
        self.sizes.append(message.size)
        self.messages.append(message)

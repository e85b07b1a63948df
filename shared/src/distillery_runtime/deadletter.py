"""Dead-letter sinks: where a message goes when it can never be applied.

The dead letter keeps everything needed to understand and replay the message: the
error, where it came from (topic, partition, offset, consumer group), how many times
it was tried, and the original key, headers and value.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from distillery_contracts.deadletter import DeadLettered
from distillery_contracts.envelope import Envelope
from distillery_runtime.metrics import MESSAGES_DEAD_LETTERED


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
    message = str(failed.error) or type(failed.error).__name__
    return DeadLettered(
        error_type=type(failed.error).__name__,
        error_message=message[:4000],
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
    """Publishes a dead letter and returns only once it is safely stored."""

    def __init__(self, service: str, producer: str) -> None:
        self.service = service
        self.producer = producer

    async def send(self, failed: FailedRecord) -> None:
        letter = dead_letter_for(failed)
        envelope = Envelope.new(
            event_type=letter.event_type,
            schema_version=letter.schema_version,
            producer=self.producer,
            event_id=f"dlq:{failed.group}:{letter.source_topic}:{letter.partition}:{letter.offset}",
        )
        await self._publish(f"{letter.source_topic}.dlq", letter, envelope, letter.original_key)
        MESSAGES_DEAD_LETTERED.labels(self.service, letter.source_topic, letter.error_type).inc()

    @abc.abstractmethod
    async def _publish(self, topic: str, letter: DeadLettered, envelope: Envelope, key: str | None) -> None:
        """Publish and wait for the broker's acknowledgement."""


class FakeDeadLetterSink(AbstractDeadLetterSink):
    """Records dead letters in memory, for unit tests."""

    def __init__(self, service: str = "test", producer: str = "test/0") -> None:
        super().__init__(service, producer)
        self.sent: list[tuple[str, DeadLettered]] = []

    async def _publish(self, topic: str, letter: DeadLettered, envelope: Envelope, key: str | None) -> None:
        self.sent.append((topic, letter))

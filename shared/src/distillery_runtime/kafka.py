"""Kafka through FastStream: the broker factory, publishers and subscriber wiring.

The producer uses acks=all and no idempotence (the local Tansu broker refuses
InitProducerId; at-least-once plus idempotent consumers needs neither). Subscribers
use manual acknowledgement: offsets are committed only after the handler's database
transaction has committed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaClient, AIOKafkaProducer, TopicPartition
from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy

from distillery_contracts.base import Event, TopicSpec
from distillery_contracts.envelope import Envelope
from distillery_runtime.consumer import BatchProcessor, DecodedBatch
from distillery_runtime.deadletter import AbstractDeadLetterSink
from distillery_runtime.errors import ConfigError
from distillery_runtime.kafka_clients import kafka_admin
from distillery_runtime.kafka_security import kafka_client_options, kafka_security
from distillery_runtime.logs import get_logger
from distillery_runtime.outbox import AbstractPublisher, OutgoingMessage
from distillery_runtime.sizes import DEFAULT_MAX_EVENT_BYTES

log = get_logger(__name__)


class _Broker(KafkaBroker):
    """FastStream's broker, its subscribers started together.

    FastStream starts them one after the other, and aiokafka's start of a group's consumer
    returns once the group has its assignment, which a broker holds back for a while (Kafka for
    its ``group.initial.rebalance.delay.ms``, 3 s by default; Tansu for half the consumer's
    session timeout, 5 s at ours). A service with three subscriptions waited three delays before
    it was ready; started together, their groups join together.
    """

    async def start(self) -> None:
        await self.connect()
        starts = [asyncio.ensure_future(subscriber.start()) for subscriber in self.subscribers]
        try:
            await asyncio.gather(*starts)
        except BaseException:
            for start in starts:  # one failed: the others are not left joining on their own
                start.cancel()
            raise
        for publisher in self.publishers:
            await publisher.start()
        self.running = True


def create_broker(bootstrap: str, client_id: str, **kwargs: Any) -> KafkaBroker:
    return _Broker(
        bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=False,
        log_level=logging.DEBUG,  # FastStream logs every message at this level
        graceful_timeout=kwargs.pop("graceful_timeout", 15.0),
        security=kwargs.pop("security", None) or kafka_security(),
        **kwargs,
    )


async def check_broker(bootstrap: str, timeout_s: float = 10.0) -> None:
    """Fail with one clear line when no broker answers at ``bootstrap``."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000),
                            **kafka_client_options())
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # our one line says it; aiokafka's would repeat it
    try:
        await asyncio.wait_for(client.bootstrap(), timeout=timeout_s)
    except Exception as exc:
        raise ConfigError(
            f"cannot reach the Kafka broker at {bootstrap} ({type(exc).__name__}). "
            "Start it ('distillery stack up') or fix DISTILLERY_KAFKA_BOOTSTRAP"
        ) from None
    finally:
        quiet.setLevel(level)
        await client.close()


async def ensure_topics(bootstrap: str, specs: Sequence[TopicSpec]) -> list[str]:
    """Create every topic that does not exist yet; return the names created."""
    async with kafka_admin(bootstrap) as admin:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        for spec in missing:  # one at a time: a config the broker refuses names its topic
            topic = NewTopic(spec.name, spec.partitions, 1, topic_configs=spec.topic_config())
            try:
                await admin.create_topics([topic])
            except TopicAlreadyExistsError:
                pass
        return [s.name for s in missing]


def partition_of(key: bytes | None, partitions: Sequence[int]) -> int:
    """The partition aiokafka's default partitioner (Kafka's murmur2 of the key) gives ``key``
    among ``partitions`` (sorted ids); a random one for no key, as it does."""
    if key is None:
        return random.choice(partitions)
    return partitions[_key_hash(key) % len(partitions)]


@functools.lru_cache(maxsize=65_536)
def _key_hash(key: bytes) -> int:
    """murmur2 is pure Python in aiokafka (8 us a key); a call's turns share their key."""
    return int(murmur2(key)) & 0x7FFFFFFF


class KafkaPublisher(AbstractPublisher):
    """Sends outbox rows through a producer of its own, in record batches, and waits for
    every ack.

    The relay publishes thousands of events of several KB each per second. They are
    packed into one record batch per partition (up to ``max_batch_size``) with
    aiokafka's batch API: per message that is an append, where ``send`` (and FastStream's
    publish around it) cost more than the network. Partitions are those of aiokafka's default
    partitioner (:func:`partition_of`), as ``send`` would choose, so a key keeps its partition.
    The producer is started on first use, so a broker that is down at start-up only delays the
    relay.
    """

    def __init__(self, bootstrap: str, client_id: str, *, max_batch_size: int = 512 * 1024) -> None:
        self._options = dict(bootstrap_servers=bootstrap, client_id=client_id, acks="all",
                             enable_idempotence=False, max_batch_size=max_batch_size,
                             **kafka_client_options())
        self._producer: AIOKafkaProducer | None = None

    async def _started(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(**self._options)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def send_all(self, rows: Sequence[Mapping[str, Any]]) -> None:
        producer = await self._started()
        partitions: dict[str, list[int]] = {}
        open_batches: dict[tuple[str, int], Any] = {}
        acks = []
        for row in rows:
            topic, key = row["topic"], row["key"].encode() if row["key"] is not None else None
            if topic not in partitions:
                partitions[topic] = sorted(await producer.partitions_for(topic))
            partition = partition_of(key, partitions[topic])
            record = dict(key=key, value=bytes(row["payload"]), timestamp=None,
                          headers=[(k, v.encode()) for k, v in row["headers"].items()])
            batch = open_batches.get((topic, partition))
            if batch is None or batch.append(**record) is None:  # none open, or full: start one
                if batch is not None:
                    acks.append(await producer.send_batch(batch, topic, partition=partition))
                batch = open_batches[(topic, partition)] = producer.create_batch()
                batch.append(**record)  # the first record always fits
        for (topic, partition), batch in open_batches.items():
            acks.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*acks)

    async def stop(self) -> None:
        """Flush and close the producer (after the relay's last drain)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()


class KafkaDeadLetterSink(AbstractDeadLetterSink):
    def __init__(self, broker: KafkaBroker, service: str, producer: str, *,
                 max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        super().__init__(service, producer, max_event_bytes=max_event_bytes)
        self._broker = broker

    async def _publish(self, message: OutgoingMessage) -> None:
        await self._broker.publish(
            message.payload,
            message.topic,
            key=message.key.encode() if message.key is not None else None,
            headers=message.headers,
        )


async def _raw_records(message: KafkaMessage) -> Any:
    """Hand the ConsumerRecords to the processor untouched; it validates with the contracts."""
    raw = message.raw_message
    return list(raw) if isinstance(raw, tuple | list) else [raw]


def subscribe(broker: KafkaBroker, processor: BatchProcessor, *, batch_size: int,
              batch_timeout_ms: int, on_infrastructure_error: Any, session_timeout_ms: int = 10_000,
              pipeline: Pipeline | None = None) -> Any:
    """Register ``processor`` on the broker as a batch subscriber with manual commits (through
    ``pipeline`` when given: see :class:`Pipeline`)."""
    subscriber = broker.subscriber(
        processor.sub.topic.name,
        group_id=processor.group,
        batch=True,
        max_records=batch_size,
        batch_timeout_ms=batch_timeout_ms,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        decoder=_raw_records,
        max_poll_interval_ms=10 * 60 * 1000,
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=max(500, session_timeout_ms // 3),
        title=f"{processor.service}:{processor.sub.consumer}",
    )

    @subscriber
    async def on_batch(records: list[Any], message: KafkaMessage) -> None:
        if pipeline is not None:
            await pipeline.on_batch(records, message.consumer)
            return
        try:
            await processor.process(records)
        except Exception as exc:
            # Rewind to the batch's first offset so nothing after it is committed, then wait.
            await message.nack()
            await on_infrastructure_error(exc)
            return
        await message.ack()

    return subscriber


Offsets = dict[TopicPartition, int]
"""An offset per partition."""


class Pipeline:
    """Two batches at once for a subscription with a ``prepare`` step: while one batch's
    transaction is in flight, the next is decoded and prepared.

    The transactions still run one at a time and in order, and a batch's offsets are
    committed after its own transaction, as exactly the offsets after its records (the
    consumer's position is already past the next batch). When a transaction fails, its
    batch's partitions are rewound to its first records, and the next batch the handler is
    given is dropped and fetched again too: each of its partitions is rewound to its first
    record there or to the failed batch's, whichever is earlier. That next batch may have
    been fetched before the rewind (it is behind the failed one) or after it (it starts
    where the failed one did); either way nothing is skipped.
    """

    def __init__(self, processor: BatchProcessor, on_infrastructure_error: Any) -> None:
        self._processor = processor
        self._on_infrastructure_error = on_infrastructure_error
        self._in_flight: asyncio.Future[Offsets | None] | None = None
        self._closing = False

    async def on_batch(self, records: Sequence[Any], consumer: Any) -> None:
        try:
            batch = await self._processor.prepare(records)
        except Exception as exc:  # not applied, so fetched again (prepare's own step cannot get here)
            _rewind(consumer, _first_offsets(records))
            await self._on_infrastructure_error(exc)
            return
        rewound = await self.drain()
        if rewound is not None:  # the batch ahead failed: this one is fetched again too
            first = _first_offsets(records)
            _rewind(consumer, {p: min(offset, rewound.get(p, offset)) for p, offset in first.items()})
            return
        self._in_flight = asyncio.ensure_future(self._apply(batch, records, consumer))
        if self._closing:
            await self.drain()

    async def _apply(self, batch: DecodedBatch, records: Sequence[Any], consumer: Any) -> Offsets | None:
        """Apply and commit ``batch``: None, or when that failed, where its partitions were rewound."""
        try:
            await self._processor.apply(batch)
            await consumer.commit(_offsets_after(records))
        except Exception as exc:
            rewound = _rewind(consumer, _first_offsets(records))
            await self._on_infrastructure_error(exc)
            return rewound
        return None

    async def drain(self) -> Offsets | None:
        """Wait for the batch in flight: None, or when it failed, where its partitions were rewound."""
        in_flight = self._in_flight
        if in_flight is None:
            return None
        try:
            return await asyncio.shield(in_flight)
        finally:
            if self._in_flight is in_flight:  # a failure is told once, to the next batch
                self._in_flight = None

    async def close(self) -> None:
        """Finish the batch in flight; from now on each batch is applied before its handler returns
        (the service is stopping, and the broker waits only for the handler)."""
        self._closing = True
        await self.drain()


def _offsets_after(records: Sequence[Any]) -> Offsets:
    offsets: Offsets = {}
    for record in records:
        partition = TopicPartition(record.topic, record.partition)
        offsets[partition] = max(offsets.get(partition, 0), record.offset + 1)
    return offsets


def _first_offsets(records: Sequence[Any]) -> Offsets:
    first: Offsets = {}
    for record in records:
        partition = TopicPartition(record.topic, record.partition)
        first[partition] = min(first.get(partition, record.offset), record.offset)
    return first


def _rewind(consumer: Any, offsets: Offsets) -> Offsets:
    """Seek each partition to its offset, so it is fetched again from there; the ones sought
    (a partition revoked meanwhile is its new owner's, from its committed offset)."""
    assigned = consumer.assignment()
    sought = {partition: offset for partition, offset in offsets.items() if partition in assigned}
    for partition, offset in sought.items():
        consumer.seek(partition, offset)
    return sought


async def publish_events(bootstrap: str, topic: str, events: Sequence[Event], *, producer: str,
                         correlation_id: str | None = None) -> list[Envelope]:
    """Publish events from outside a service (the CLI's commands, imports, tests).

    Each gets a full envelope; the call returns once the broker acknowledged all of them.
    """
    client = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False,
                              client_id=producer.split("/")[0], **kafka_client_options())
    await client.start()
    try:
        envelopes, futures = [], []
        for event in events:
            envelope = Envelope.new(event_type=event.event_type, schema_version=event.schema_version,
                                    producer=producer, event_id=event.event_id(),
                                    correlation_id=correlation_id)
            key = event.partition_key()
            futures.append(await client.send(
                topic, event.model_dump_json().encode(), key=key.encode() if key is not None else None,
                headers=envelope.to_headers(),
            ))
            envelopes.append(envelope)
        await asyncio.gather(*futures)
        return envelopes
    finally:
        await client.stop()


def prepare_to_leave_groups(subscribers: Sequence[Any]) -> None:
    """Make sure stopping consumers leave their groups at once.

    aiokafka sends LeaveGroup only when the group generation is above 0, and Tansu hands
    out generation 0 to a new group's first members; without this a stopped instance
    would stay a member and keep its partitions from the others.
    """
    for subscriber in subscribers:
        coordinator = getattr(getattr(subscriber, "consumer", None), "_coordinator", None)
        if coordinator is not None and coordinator.generation == 0 and coordinator.member_id:
            coordinator.generation = 1

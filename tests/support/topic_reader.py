"""A whole topic read to its end, as it stands now (not until a timeout, as read_topic does)."""

from __future__ import annotations

import time

from aiokafka import TopicPartition
from kafka_helpers import ReadMessage

from distillery_runtime.kafka_clients import kafka_reader, partition_ids


async def read_all(bootstrap: str, topic: str, timeout: float = 60.0) -> list[ReadMessage]:
    """Every message of ``topic`` up to the end offsets it had when asked."""
    out: list[ReadMessage] = []
    async with kafka_reader(bootstrap) as consumer:
        parts = [TopicPartition(topic, p) for p in await partition_ids(consumer, topic)]
        if not parts:
            return out
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        deadline = time.monotonic() + timeout
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: not read to its end in {timeout:.0f}s")
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                for r in records:
                    out.append(ReadMessage(r.topic, r.partition, r.offset,
                                           r.key.decode("utf-8", "replace") if r.key else None,
                                           {k: v.decode("utf-8", "replace") for k, v in r.headers}, r.value))
    return out

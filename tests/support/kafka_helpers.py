"""Reading topics back in tests."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from distillery_runtime.kafka_clients import kafka_reader


@dataclass
class ReadMessage:
    topic: str
    partition: int
    offset: int
    key: str | None
    headers: dict[str, str]
    value: bytes


async def read_topic(bootstrap: str, *topics: str, expect: int | None = None,
                     timeout: float = 20.0, settle: float = 1.0) -> list[ReadMessage]:
    """Every message on ``topics`` from the start: until ``expect`` are read (then ``settle``
    seconds more, to catch extras), or until ``timeout``."""
    out: list[ReadMessage] = []
    deadline = time.monotonic() + timeout
    reached_at: float | None = None
    async with kafka_reader(bootstrap, *topics, auto_offset_reset="earliest") as consumer:
        while time.monotonic() < deadline:
            if reached_at is not None and time.monotonic() - reached_at > settle:
                break
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    out.append(ReadMessage(r.topic, r.partition, r.offset,
                                           r.key.decode() if r.key else None,
                                           {k: v.decode() for k, v in r.headers}, r.value))
            if expect is not None and len(out) >= expect and reached_at is None:
                reached_at = time.monotonic()
        return out


async def wait_until(predicate, timeout: float = 20.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await predicate()
        if result:
            return result
        await asyncio.sleep(interval)
    return await predicate()

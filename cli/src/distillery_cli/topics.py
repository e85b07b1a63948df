"""Topic inspection: partitions, end offsets and consumer-group lag."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


@dataclass
class PartitionInfo:
    partition: int
    start: int
    end: int


@dataclass
class GroupLag:
    group: str
    committed: dict[int, int | None]
    lag: int


async def list_topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(await admin.list_topics())
    finally:
        await admin.close()


async def list_groups(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(g[0] for g in await admin.list_consumer_groups())
    finally:
        await admin.close()


async def partitions(bootstrap: str, topic: str) -> list[PartitionInfo]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ids = sorted(consumer.partitions_for_topic(topic) or ())
        if not ids:
            await consumer._client.force_metadata_update()
            ids = sorted(consumer.partitions_for_topic(topic) or ())
        tps = [TopicPartition(topic, p) for p in ids]
        if not tps:
            return []
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        return [PartitionInfo(tp.partition, starts[tp], ends[tp]) for tp in tps]
    finally:
        await consumer.stop()


async def group_lag(bootstrap: str, group: str, topic: str, parts: list[PartitionInfo]) -> GroupLag:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        committed: dict[int, int | None] = {}
        lag = 0
        for p in parts:
            offset = await consumer.committed(TopicPartition(topic, p.partition))
            committed[p.partition] = offset
            # The end offsets were read first; a group that committed since is caught up.
            lag += max(0, p.end - (offset if offset is not None else p.start))
        return GroupLag(group, committed, lag)
    finally:
        await consumer.stop()

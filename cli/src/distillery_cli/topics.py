"""Topic inspection: partitions, end offsets and consumer-group lag."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import TopicPartition

from distillery_runtime.kafka_clients import kafka_admin, kafka_reader, partition_ids


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
    async with kafka_admin(bootstrap) as admin:
        return sorted(await admin.list_topics())


async def list_groups(bootstrap: str) -> list[str]:
    async with kafka_admin(bootstrap) as admin:
        return sorted(g[0] for g in await admin.list_consumer_groups())


async def partitions(bootstrap: str, topic: str) -> list[PartitionInfo]:
    async with kafka_reader(bootstrap) as consumer:
        tps = [TopicPartition(topic, p) for p in await partition_ids(consumer, topic)]
        if not tps:
            return []
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        return [PartitionInfo(tp.partition, starts[tp], ends[tp]) for tp in tps]


async def group_lag(bootstrap: str, group: str, topic: str, parts: list[PartitionInfo]) -> GroupLag:
    async with kafka_reader(bootstrap, group=group) as consumer:
        committed: dict[int, int | None] = {}
        lag = 0
        for p in parts:
            offset = await consumer.committed(TopicPartition(topic, p.partition))
            committed[p.partition] = offset
            # The end offsets were read first; a group that committed since is caught up.
            lag += max(0, p.end - (offset if offset is not None else p.start))
        return GroupLag(group, committed, lag)

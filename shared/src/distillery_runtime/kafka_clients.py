"""Plain aiokafka clients for work beside the delivery path: topic admin, the CLI's
inspection and replay, tests reading topics back.

Apart from ``kafka.py`` so the CLI can import them without FastStream, which takes over
a second to load on every command.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from distillery_runtime.kafka_security import kafka_client_options


@asynccontextmanager
async def kafka_admin(bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client, closed on the way out."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_client_options())
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


@asynccontextmanager
async def kafka_reader(bootstrap: str, *topics: str, group: str | None = None,
                       **options: Any) -> AsyncIterator[AIOKafkaConsumer]:
    """A started consumer outside any service (the CLI's inspection and replay, tests): it
    never commits on its own, so reading or looking leaves a group's offsets as they were."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False, **{**kafka_client_options(), **options})
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def partition_ids(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    """The partitions of ``topic``; a consumer that has not seen the topic yet refreshes its
    metadata once first (a topic created after it started is otherwise unknown to it)."""
    ids = consumer.partitions_for_topic(topic)
    if not ids:
        await consumer._client.force_metadata_update()
        ids = consumer.partitions_for_topic(topic)
    return sorted(ids or ())

"""Reads routing tables from the compacted topic ``distillery.routing.table.v1``.

The router reads the whole topic from the earliest offset without a consumer group:
every voice-platform process needs every route's latest table, and compaction keeps
the topic down to one record per route. Needs the ``kafka`` extra (aiokafka).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from typing import Any, Protocol

from pydantic import ValidationError

from distillery_router.table import RouteTable

ROUTING_TOPIC = "distillery.routing.table.v1"
EVENT_TYPE = "RouteTableUpdated"

log = logging.getLogger(__name__)


class TableConsumer(Protocol):
    """What the source needs of a consumer: aiokafka's AIOKafkaConsumer fits it."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def __aiter__(self) -> AsyncIterator[Any]: ...


def _aiokafka_factory(bootstrap: str, topic: str,
                      options: Mapping[str, Any] | None = None) -> Callable[[], TableConsumer]:
    try:
        from aiokafka import AIOKafkaConsumer
    except ImportError as exc:
        raise RuntimeError(
            "following the routing topic needs aiokafka: pip install 'distillery-router[kafka]'"
        ) from exc

    def create() -> TableConsumer:
        return AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            client_id="distillery-router",
            **(options or {}),
        )

    return create


class KafkaTableSource:
    """Yields every table published on the topic, reconnecting with backoff when it fails."""

    def __init__(
        self,
        bootstrap: str | None = None,
        *,
        topic: str = ROUTING_TOPIC,
        routes: Collection[str] | None = None,
        consumer_factory: Callable[[], TableConsumer] | None = None,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 30.0,
        consumer_options: Mapping[str, Any] | None = None,
    ) -> None:
        """``consumer_options`` go to aiokafka's consumer: on a broker with SASL/SCRAM over TLS
        (docker-compose.yml), ``security_protocol``, ``sasl_mechanism``, ``sasl_plain_username``,
        ``sasl_plain_password`` and ``ssl_context`` of a user the broker lets read the topic."""
        if consumer_factory is None:
            if not bootstrap:
                raise ValueError("KafkaTableSource needs a bootstrap address or a consumer_factory")
            consumer_factory = _aiokafka_factory(bootstrap, topic, consumer_options)
        self.topic = topic
        self.routes = frozenset(routes) if routes else None
        self._create_consumer = consumer_factory
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self.connected = False

    async def tables(self) -> AsyncIterator[RouteTable]:
        """Every valid table on the topic, in order, for as long as the caller iterates.

        A record that cannot be read is skipped where it stands: reconnecting would read the
        topic again from the earliest offset, meet the same record, and never get past it.
        """
        delay = self._retry_initial_s
        while True:
            consumer: TableConsumer | None = None
            try:
                consumer = self._create_consumer()
                await consumer.start()
                self.connected = True
                delay = self._retry_initial_s
                async for record in consumer:
                    table = self._readable(record)
                    if table is not None:
                        yield table
            except Exception as exc:  # the follower must outlive any broker failure
                log.warning("routing topic unreachable, keeping last tables: %r", exc)
            finally:
                self.connected = False
                if consumer is not None:
                    await _stop_quietly(consumer)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max_s)

    def _readable(self, record: Any) -> RouteTable | None:
        try:
            return self.decode(record)
        except Exception as exc:  # one poisoned record must not stop the tables after it
            log.warning("skipped unreadable record at offset %s: %s", getattr(record, "offset", "?"),
                        type(exc).__name__)
            return None

    def decode(self, record: Any) -> RouteTable | None:
        """The table a record carries, or None when the record is not one to apply."""
        try:
            route = record.key.decode() if record.key is not None else None
        except UnicodeDecodeError:
            log.warning("skipped record at offset %s: its key is not UTF-8, so names no route", record.offset)
            return None
        if self.routes is not None and route not in self.routes:
            return None
        if record.value is None:
            # A tombstone would leave the voice platform without a table; the controller
            # retires a route by publishing weights instead, so keep what we have.
            log.warning("ignored tombstone for route %r at offset %s", route, record.offset)
            return None
        event_type = dict(record.headers or ()).get("event-type")
        if event_type is not None and event_type != EVENT_TYPE.encode():
            return None
        try:
            table = RouteTable.model_validate_json(record.value)
        except ValidationError as exc:
            log.warning("skipped invalid routing table at offset %s: %s", record.offset, exc)
            return None
        if route is not None and table.route != route:
            log.warning("skipped table for %r published under key %r", table.route, route)
            return None
        return table


async def _stop_quietly(consumer: TableConsumer) -> None:
    try:
        await consumer.stop()
    except Exception as exc:  # stopping a consumer that never connected may fail too
        log.debug("consumer stop failed: %r", exc)

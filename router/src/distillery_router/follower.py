"""Keeps a Router's tables current from the controller's HTTP API and the routing topic.

Both sources only ever feed ``Router.update``, which refuses older versions, so they can
run side by side in any order. When both are unreachable the router keeps the tables
it has, and the optional state file carries them across restarts.

Given ``table_keys`` (the controller's public key), a table is applied only when the
controller signed it: a forged table, whatever its version, is refused and the router keeps
the last good one. Without keys every well-formed table is applied, as before; the follower
says so once, loudly, because anyone who can write to the topic then steers the traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx

from distillery_router.http_source import HttpTableSource, TableUnavailable
from distillery_router.kafka_source import ROUTING_TOPIC, KafkaTableSource, TableConsumer
from distillery_router.router import Router
from distillery_router.signature import TableKeys
from distillery_router.table import RouteTable
from distillery_router.table_file import TableFile

log = logging.getLogger(__name__)


class RoutingTableFollower:
    """Follows the routing tables of ``routes`` into ``router`` until stopped.

    Give ``base_url`` (the rollout-controller) to poll ``GET /v1/routes/{route}`` every
    ``poll_interval`` seconds (with ``api_token``, its bearer token), ``kafka_bootstrap`` to follow the compacted topic, or
    both. Use as ``async with RoutingTableFollower(...):`` or call start()/stop().
    """

    def __init__(
        self,
        router: Router,
        *,
        routes: Sequence[str] = (),
        base_url: str | None = None,
        poll_interval: float = 5.0,
        request_timeout: float = 2.0,
        http_client: httpx.AsyncClient | None = None,
        kafka_bootstrap: str | None = None,
        kafka_topic: str = ROUTING_TOPIC,
        kafka_consumer_factory: Callable[[], TableConsumer] | None = None,
        state_file: str | os.PathLike[str] | None = None,
        table_keys: TableKeys | None = None,
        api_token: str | None = None,
    ) -> None:
        if base_url is None and kafka_bootstrap is None and kafka_consumer_factory is None:
            raise ValueError("give base_url (controller HTTP API), kafka_bootstrap, or both")
        if base_url is not None and not routes:
            raise ValueError("polling the HTTP API needs the routes to follow, e.g. routes=['voice-agent']")
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval}")
        self.router = router
        self.routes = tuple(routes)
        self.poll_interval = poll_interval
        self._http = (
            HttpTableSource(base_url, client=http_client, timeout=request_timeout, api_token=api_token)
            if base_url
            else None
        )
        self._kafka = (
            KafkaTableSource(
                kafka_bootstrap, topic=kafka_topic, routes=self.routes or None,
                consumer_factory=kafka_consumer_factory,
            )
            if kafka_bootstrap or kafka_consumer_factory
            else None
        )
        self._file = TableFile(state_file) if state_file is not None else None
        self._save_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = False
        self.last_refresh_at: datetime | None = None
        self.last_error: str | None = None
        self.table_keys = table_keys
        self.refused = 0
        """Tables refused because their signature did not verify (forged, or another key's)."""
        if table_keys is None:
            log.warning("routing tables are applied unverified: give table_keys (the rollout-controller's "
                        "public key) so that a forged table cannot steer traffic")

    async def start(self) -> None:
        """Restore saved tables, poll once, then follow in the background."""
        if self._tasks or self._stopped:
            raise RuntimeError("a follower starts once; create a new one to follow again")
        if self._file is not None:
            for table in await asyncio.to_thread(self._file.load):
                if self._verified(table):
                    self.router.update(table)
        if self._http is not None:
            await self.refresh()
            self._tasks.append(asyncio.create_task(self._poll_forever(), name="routing-http-poll"))
        if self._kafka is not None:
            self._tasks.append(asyncio.create_task(self._follow_topic(self._kafka), name="routing-topic"))

    async def stop(self) -> None:
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._http is not None:
            await self._http.aclose()

    async def __aenter__(self) -> RoutingTableFollower:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def refresh(self) -> int:
        """Poll the HTTP API once for every route; the number of tables applied."""
        if self._http is None:
            raise RuntimeError("refresh() needs base_url")
        applied = 0
        errors: list[str] = []
        for route in self.routes:
            try:
                table = await self._http.fetch(route)
            except TableUnavailable as exc:
                errors.append(str(exc))
                continue
            if table is not None and await self.apply(table):
                applied += 1
        self._record_poll(errors)
        return applied

    async def apply(self, table: RouteTable) -> bool:
        """Hand a table to the router; save the state file when it was applied."""
        if self.routes and table.route not in self.routes:
            return False
        if not self._verified(table):
            return False
        if not self.router.update(table):
            return False
        log.info("routing table applied: route=%s version=%s weights=%s", table.route,
                 table.version, {arm.name: arm.weight for arm in table.arms})
        if self._file is not None:
            async with self._save_lock:
                await asyncio.to_thread(self._file.save, self.router.tables())
        return True

    def _verified(self, table: RouteTable) -> bool:
        if self.table_keys is None:
            return True
        refusal = self.table_keys.refusal(table)
        if refusal is None:
            return True
        self.refused += 1
        log.warning("refused a routing table, keeping the last good one: %s", refusal)
        return False

    def _record_poll(self, errors: list[str]) -> None:
        if errors:
            if self.last_error is None:
                log.warning("routing API unreachable, keeping last tables: %s", "; ".join(errors))
            self.last_error = "; ".join(errors)
            return
        if self.last_error is not None:
            log.info("routing API reachable again")
        self.last_error = None
        self.last_refresh_at = datetime.now(UTC)

    async def _poll_forever(self) -> None:
        while True:
            # Jitter keeps many voice-platform workers from polling in lockstep.
            await asyncio.sleep(self.poll_interval * random.uniform(0.9, 1.1))
            try:
                await self.refresh()
            except Exception:  # e.g. a full disk for the state file: keep following
                log.exception("routing table poll failed")

    async def _follow_topic(self, source: KafkaTableSource) -> None:
        async for table in source.tables():
            try:
                await self.apply(table)
            except Exception:
                log.exception("could not apply routing table for route %s", table.route)

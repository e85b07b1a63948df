"""Service health and consumer lag for the overview, probed in the background so a page
load never waits on the network: the page shows the latest snapshot and when it was taken.

Up or down is each service's ``/readyz`` (open without a token, as orchestrators need it), at
the URLs the console is given: compose names its services, and nothing else knows where a
process listens. Lag comes from the broker, not from the services: committed offset against
end offset for every ``distillery.*`` group on every registered topic. Tansu closes the
connection on an OffsetFetch that asks for all of a group's partitions, so the partitions are
always named (that works with Tansu here and with Kafka in compose alike).
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from aiokafka import TopicPartition

from distillery_contracts.registry import all_topic_specs
from distillery_runtime.kafka_clients import kafka_admin, kafka_reader, partition_ids
from distillery_runtime.safe_errors import safe_summary

GROUP_PREFIX = "distillery."


@dataclass(frozen=True)
class ServiceHealth:
    name: str
    up: bool
    detail: str
    """'ready', or why not: the status code or the connection error."""


@dataclass(frozen=True)
class GroupLag:
    group: str
    topic: str
    lag: int
    """Messages on the topic the group has not committed yet."""

    @property
    def service(self) -> str:
        """``distillery.<service>.…``: the service the group belongs to."""
        return self.group.removeprefix(GROUP_PREFIX).split(".", 1)[0]


@dataclass(frozen=True)
class HealthSnapshot:
    checked_at: datetime | None = None
    services: list[ServiceHealth] = field(default_factory=list)
    lags: list[GroupLag] = field(default_factory=list)
    lag_error: str | None = None
    """Why the lag is unknown (broker unreachable), None when it was read."""


class AbstractHealthProbe(abc.ABC):
    """Asks the services and the broker; the fake answers from what a test set."""

    @abc.abstractmethod
    async def services(self) -> list[ServiceHealth]: ...

    @abc.abstractmethod
    async def lags(self) -> list[GroupLag]:
        """Every group's lag per topic it has committed on; raises when the broker cannot be read."""


class LiveHealthProbe(AbstractHealthProbe):
    def __init__(self, urls: Mapping[str, str], bootstrap: str, timeout_s: float = 2.0) -> None:
        self.urls = dict(urls)
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s

    async def services(self) -> list[ServiceHealth]:
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            return list(await asyncio.gather(*(self._ready(client, n, u) for n, u in sorted(self.urls.items()))))

    async def _ready(self, client: httpx.AsyncClient, name: str, url: str) -> ServiceHealth:
        try:
            answer = await client.get(f"{url}/readyz")
        except httpx.HTTPError as exc:
            return ServiceHealth(name, False, f"unreachable: {type(exc).__name__}")
        return ServiceHealth(name, answer.status_code == 200,
                             "ready" if answer.status_code == 200 else f"not ready (HTTP {answer.status_code})")

    async def lags(self) -> list[GroupLag]:
        async with kafka_admin(self.bootstrap) as admin:
            groups = sorted(g[0] for g in await admin.list_consumer_groups() if g[0].startswith(GROUP_PREFIX))
            if not groups:
                return []
            async with kafka_reader(self.bootstrap) as reader:
                # aiokafka 0.14: a group-less consumer stopped before its background task first ran
                # raises CancelledError from stop(); one turn of the loop lets the task start.
                await asyncio.sleep(0)
                tps = [TopicPartition(spec.name, p) for spec in all_topic_specs()
                       for p in await partition_ids(reader, spec.name)]
                ends = await reader.end_offsets(tps) if tps else {}
            found: dict[tuple[str, str], int] = {}
            for group in groups:
                offsets = await admin.list_consumer_group_offsets(group, partitions=tps)
                for tp, committed in offsets.items():
                    if committed.offset >= 0:
                        lag = max(0, ends.get(tp, 0) - committed.offset)
                        found[(group, tp.topic)] = found.get((group, tp.topic), 0) + lag
        return [GroupLag(g, topic, lag) for (g, topic), lag in sorted(found.items())]


class HealthBoard:
    """The latest snapshot, refreshed by the console's background worker."""

    def __init__(self, probe: AbstractHealthProbe) -> None:
        self.probe = probe
        self.snapshot = HealthSnapshot()

    async def refresh(self, now: datetime) -> HealthSnapshot:
        services = await self.probe.services()
        try:
            lags, error = await self.probe.lags(), None
        except Exception as exc:  # the broker down is what the overview should say, not a crash
            lags, error = [], safe_summary(exc)
        self.snapshot = HealthSnapshot(now, services, lags, error)
        return self.snapshot

"""Follows the pipeline's topics and keeps a picture of where every cycle is.

It reads the topics as any consumer would (no consumer group, from the beginning), so
the live view and `distillery status` need no access to any service's tables.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.envelope import Envelope
from distillery_contracts.evaluations import EvaluationCompleted
from distillery_contracts.finetune import FinetuneJobChanged
from distillery_contracts.registry import (
    DATASETS_BUILT,
    EVALUATIONS_COMPLETED,
    FINETUNE_JOBS,
    ROLLOUT_DECISIONS,
    ROUTING_TABLE,
    get_topic,
)
from distillery_contracts.rollout import RolloutDecided
from distillery_contracts.routing import RouteTableUpdated
from distillery_contracts.upcasting import decode_event
from distillery_runtime.kafka_clients import kafka_reader, partition_ids

FOLLOWED = (DATASETS_BUILT, FINETUNE_JOBS, EVALUATIONS_COMPLETED, ROLLOUT_DECISIONS, ROUTING_TABLE)


@dataclass
class CycleView:
    """What happened in one distillation cycle, as the topics tell it."""

    cycle_id: str
    dataset: DatasetBuilt | None = None
    jobs: list[FinetuneJobChanged] = field(default_factory=list)
    evaluation: EvaluationCompleted | None = None
    decisions: list[RolloutDecided] = field(default_factory=list)

    @property
    def job(self) -> FinetuneJobChanged | None:
        return self.jobs[-1] if self.jobs else None

    @property
    def stage(self) -> str:
        if self.decisions:
            return self.decisions[-1].decision.value
        if self.evaluation:
            return f"evaluated: {self.evaluation.outcome.value}"
        if self.job:
            return f"fine-tune: {self.job.status.value}"
        return "dataset built" if self.dataset else "collecting"


@dataclass
class PipelineView:
    """Topic counts, cycles in order of appearance, and the current routing table."""

    counts: Counter[str] = field(default_factory=Counter)
    cycles: dict[str, CycleView] = field(default_factory=dict)
    routes: dict[str, RouteTableUpdated] = field(default_factory=dict)

    def cycle(self, cycle_id: str | None) -> CycleView:
        key = cycle_id or "unknown"
        if key not in self.cycles:
            self.cycles[key] = CycleView(key)
        return self.cycles[key]

    def apply(self, envelope: Envelope, event: Any) -> None:
        if isinstance(event, DatasetBuilt):
            self.cycle(event.cycle_id or envelope.correlation_id).dataset = event
        elif isinstance(event, FinetuneJobChanged):
            self.cycle(event.cycle_id or envelope.correlation_id).jobs.append(event)
        elif isinstance(event, EvaluationCompleted):
            self.cycle(event.cycle_id or envelope.correlation_id).evaluation = event
        elif isinstance(event, RolloutDecided):
            self.cycle(event.cycle_id or envelope.correlation_id).decisions.append(event)
        elif isinstance(event, RouteTableUpdated):
            current = self.routes.get(event.route)
            if current is None or event.version > current.version:
                self.routes[event.route] = event


class PipelineMonitor:
    """Consumes the followed topics into a :class:`PipelineView`, and counts the others."""

    def __init__(self, bootstrap: str, counted: tuple[str, ...] = ()) -> None:
        self.bootstrap = bootstrap
        self.counted = counted
        self.view = PipelineView()
        self._counter: AIOKafkaConsumer | None = None

    async def run(self, stop: asyncio.Event) -> None:
        # A subscribed consumer only learns the metadata of its own topics: the counted
        # topics' end offsets come from a second, unsubscribed one.
        async with (
            kafka_reader(self.bootstrap, *FOLLOWED, auto_offset_reset="earliest") as consumer,
            kafka_reader(self.bootstrap) as self._counter,
        ):
            counted_at = 0.0
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=300)
                for records in batch.values():
                    for record in records:
                        self._apply(record)
                if time.monotonic() - counted_at > 1.0:
                    await self.refresh_counts()
                    counted_at = time.monotonic()

    def _apply(self, record: Any) -> None:
        try:
            envelope = Envelope.from_headers(record.headers)
            event = decode_event(get_topic(record.topic), envelope, record.value)
        except Exception:
            return  # the monitor only watches; malformed messages are the consumers' business
        self.view.apply(envelope, event)

    async def refresh_counts(self) -> None:
        if not self.counted or self._counter is None:
            return
        for topic in self.counted:
            parts = await partition_ids(self._counter, topic)
            if not parts:
                continue
            ends = await self._counter.end_offsets([TopicPartition(topic, p) for p in parts])
            self.view.counts[topic] = sum(ends.values())


async def snapshot(bootstrap: str, timeout: float = 10.0) -> PipelineView:
    """Read the followed topics up to their current end and return the picture."""
    monitor = PipelineMonitor(bootstrap)
    async with kafka_reader(bootstrap) as consumer:
        tps = [TopicPartition(t, p) for t in FOLLOWED for p in await partition_ids(consumer, t)]
        if not tps:
            return monitor.view
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            positions = {tp: await consumer.position(tp) for tp in ends}
            if all(positions[tp] >= end for tp, end in ends.items()):
                break
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    monitor._apply(record)
        return monitor.view

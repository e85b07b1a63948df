"""The consumer's two-batch pipeline, with a fake Kafka consumer and unit of work: the next
batch is prepared while the previous one's transaction is in flight, transactions stay in
order, each batch commits exactly its own offsets, and a failed batch rewinds both."""

from __future__ import annotations

import asyncio
import dataclasses

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord
from runtime_records import raw_record
from sqlalchemy.exc import OperationalError

from distillery_contracts.registry import TRACES_RAW, get_topic
from distillery_contracts.samples import sample_trace_captured
from distillery_contracts.traces import TraceCaptured
from distillery_runtime.consumer import BatchProcessor, Delivery, Subscription
from distillery_runtime.deadletter import FakeDeadLetterSink
from distillery_runtime.kafka import Pipeline
from distillery_runtime.uow import FakeUnitOfWork

P0, P1 = TopicPartition(TRACES_RAW, 0), TopicPartition(TRACES_RAW, 1)


def record(offset: int, partition: int = 0) -> ConsumerRecord:
    trace = sample_trace_captured(observation_id=f"obs-{partition}-{offset}")
    return dataclasses.replace(raw_record(trace, offset), partition=partition)


class Consumer:
    """The two calls the pipeline makes on aiokafka's consumer, recorded."""

    def __init__(self, partitions: tuple[TopicPartition, ...] = (P0, P1)) -> None:
        self.partitions = set(partitions)
        self.commits: list[dict[TopicPartition, int]] = []
        self.seeks: dict[TopicPartition, int] = {}

    def assignment(self) -> set[TopicPartition]:
        return self.partitions

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks[partition] = offset

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(offsets)


class Stage:
    """A handler and a prepare step that log what they did; the handler can be held open."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.hold: asyncio.Event | None = None
        self.__name__ = "stage"

    async def prepare(self, deliveries: list[Delivery[TraceCaptured]]) -> None:
        self.log.append("prepare " + ",".join(d.event.observation_id for d in deliveries))

    async def __call__(self, uow: FakeUnitOfWork, deliveries: list[Delivery[TraceCaptured]]) -> None:
        self.log.append("apply " + ",".join(d.event.observation_id for d in deliveries))
        if self.hold is not None:
            await self.hold.wait()


def pipeline(stage: Stage, uow: FakeUnitOfWork, errors: list[BaseException]) -> Pipeline:
    sub = Subscription(get_topic(TRACES_RAW), TraceCaptured, stage, prepare=stage.prepare)
    processor = BatchProcessor(service="test", subscription=sub, group="distillery.test", new_uow=lambda: uow,
                               dead_letters=FakeDeadLetterSink(), attempts=1, backoff_s=0)

    async def on_error(exc: BaseException) -> None:
        errors.append(exc)

    return Pipeline(processor, on_error)


async def test_the_next_batch_is_prepared_while_the_previous_transaction_is_in_flight():
    stage, uow, consumer = Stage(), FakeUnitOfWork(), Consumer()
    stage.hold = asyncio.Event()
    p = pipeline(stage, uow, [])
    await p.on_batch([record(0), record(1)], consumer)
    second = asyncio.ensure_future(p.on_batch([record(2)], consumer))
    await asyncio.sleep(0.01)
    # The first transaction is held open: the second batch is prepared, not applied.
    assert stage.log == ["prepare obs-0-0,obs-0-1", "apply obs-0-0,obs-0-1", "prepare obs-0-2"]
    assert consumer.commits == [] and uow.commits == 0
    stage.hold.set()
    await second
    await p.close()
    assert stage.log[3:] == ["apply obs-0-2"]
    # Each batch commits the offsets after its own records, in order.
    assert consumer.commits == [{P0: 2}, {P0: 3}]
    assert uow.commits == 2 and not consumer.seeks


async def test_a_batch_commits_each_of_its_partitions_after_its_last_record():
    stage, uow, consumer = Stage(), FakeUnitOfWork(), Consumer()
    p = pipeline(stage, uow, [])
    await p.on_batch([record(7, partition=1), record(4), record(5), record(8, partition=1)], consumer)
    await p.close()
    assert consumer.commits == [{P0: 6, P1: 9}]


async def test_a_failed_transaction_rewinds_its_batch_and_drops_the_one_behind_it():
    stage, uow, consumer = Stage(), FakeUnitOfWork(), Consumer()
    errors: list[BaseException] = []
    p = pipeline(stage, uow, errors)
    uow.fail_with = OperationalError("commit", {}, ConnectionRefusedError("connection refused"))
    await p.on_batch([record(10), record(11)], consumer)
    # The batch behind it shares partition 0 (stays at the failed batch's first record) and
    # brings partition 1 (rewound to its own first record): both are fetched again.
    await p.on_batch([record(12), record(3, partition=1)], consumer)
    await p.close()
    assert consumer.seeks == {P0: 10, P1: 3}
    assert consumer.commits == [] and len(errors) == 1
    assert [line for line in stage.log if line.startswith("apply")] == ["apply obs-0-10,obs-0-11"]
    # Once the database is back, the batch fetched again goes through.
    uow.fail_with = None
    await p.on_batch([record(10), record(11), record(12)], consumer)
    await p.close()
    assert consumer.commits == [{P0: 13}] and uow.commits == 1


async def test_the_first_batch_fetched_after_a_rewind_is_fetched_again_not_skipped():
    stage, uow, consumer = Stage(), FakeUnitOfWork(), Consumer()
    p = pipeline(stage, uow, [])
    uow.fail_with = OperationalError("commit", {}, ConnectionRefusedError("connection refused"))
    await p.on_batch([record(10), record(11)], consumer)  # fails with no batch behind it
    await asyncio.sleep(0)
    uow.fail_with = None
    consumer.seeks.clear()
    # The consumer fetches the failed batch again from where it was rewound; that batch is
    # the one told of the failure: it is dropped, and sought back to where it starts.
    await p.on_batch([record(10), record(11)], consumer)
    assert consumer.seeks == {P0: 10} and consumer.commits == []
    await p.on_batch([record(10), record(11)], consumer)
    await p.close()
    assert consumer.commits == [{P0: 12}]


async def test_a_revoked_partition_is_not_rewound():
    stage, uow, consumer = Stage(), FakeUnitOfWork(), Consumer(partitions=(P1,))
    p = pipeline(stage, uow, [])
    uow.fail_with = OperationalError("commit", {}, ConnectionRefusedError("connection refused"))
    await p.on_batch([record(0), record(5, partition=1)], consumer)
    await p.close()
    assert consumer.seeks == {P1: 5}


async def test_once_closing_each_batch_is_applied_before_its_handler_returns():
    stage, uow, consumer = Stage(), FakeUnitOfWork(), Consumer()
    p = pipeline(stage, uow, [])
    await p.close()
    await p.on_batch([record(0)], consumer)
    assert consumer.commits == [{P0: 1}] and uow.commits == 1


async def test_a_failing_prepare_leaves_the_work_to_the_handler():
    stage, uow, consumer = Stage(), FakeUnitOfWork(), Consumer()

    async def broken(deliveries: list[Delivery[TraceCaptured]]) -> None:
        raise ValueError("cannot prepare")

    p = pipeline(stage, uow, [])
    p._processor.sub.prepare = broken
    await p.on_batch([record(0)], consumer)
    await p.close()
    assert stage.log == ["apply obs-0-0"] and consumer.commits == [{P0: 1}]


async def test_a_batch_that_cannot_be_decoded_at_all_is_fetched_again_not_skipped(monkeypatch):
    stage, uow, consumer = Stage(), FakeUnitOfWork(), Consumer()
    errors: list[BaseException] = []
    p = pipeline(stage, uow, errors)

    async def disk_full(records):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(p._processor, "prepare", disk_full)
    await p.on_batch([record(4), record(5)], consumer)
    assert consumer.seeks == {P0: 4} and len(errors) == 1
    assert consumer.commits == [] and stage.log == []

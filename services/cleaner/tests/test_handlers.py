"""The traces.raw handler: one verdict per generation through the outbox, with lineage and metrics."""

from __future__ import annotations

import json

from cleaner_samples import late, score, trace
from prometheus_client import REGISTRY

from distillery_cleaner.handlers import trace_handler
from distillery_contracts.envelope import Envelope
from distillery_contracts.registry import EXAMPLES_ACCEPTED, EXAMPLES_REJECTED, TRACES_RAW
from distillery_runtime.consumer import Delivery
from distillery_runtime.uow import FakeUnitOfWork


def delivered(event, offset: int) -> Delivery:
    envelope = Envelope.new(event_type=event.event_type, schema_version=1, producer="ingester/0.1.0",
                            event_id=event.event_id(), correlation_id="cycle-9")
    return Delivery(envelope=envelope, event=event, topic=TRACES_RAW, partition=0, offset=offset,
                    key=event.partition_key())


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def counters(config_hash: str) -> dict[str, float]:
    """The cleaner's counters this module's samples move (process-global: compare deltas)."""
    return {
        "accepted": counted("distillery_cleaner_accepted_total", config_hash=config_hash),
        "incomplete": counted("distillery_cleaner_rejected_total", config_hash=config_hash, reason="incomplete"),
        "phones": counted("distillery_cleaner_redactions_total", config_hash=config_hash, kind="PHONE"),
        "retracted": counted("distillery_cleaner_retracted_total", config_hash=config_hash),
        "hallucination": counted("distillery_cleaner_rejected_total", config_hash=config_hash,
                                 reason="hallucination"),
    }


def verdicts(uow: FakeUnitOfWork) -> list[tuple[str, dict]]:
    """What ``uow`` would publish, without the times of judging."""
    return [(m.topic, {k: v for k, v in json.loads(m.payload).items() if not k.endswith("_at")}) for m in uow.pending]


def moved(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before if after[name] != before[name]}


async def test_each_generation_is_emitted_to_its_topic_caused_by_its_trace(cleaner, repo):
    handler = trace_handler(cleaner, lambda uow: repo)
    good, cut = trace(1, session="call-a"), trace(2, session="call-b", output=None)
    uow = FakeUnitOfWork(producer="cleaner/0.1.0")
    before = counters(cleaner.config_hash)
    await handler(uow, [delivered(good, 0), delivered(cut, 1)])
    [accepted, rejected] = uow.pending
    assert (accepted.topic, accepted.envelope.causation_id, accepted.key) == (EXAMPLES_ACCEPTED, "clinic:obs-0001", "call-a")
    assert (rejected.topic, rejected.envelope.causation_id, rejected.key) == (EXAMPLES_REJECTED, "clinic:obs-0002", "call-b")
    assert {m.envelope.correlation_id for m in uow.pending} == {"cycle-9"}
    assert moved(before, counters(cleaner.config_hash)) == {
        "accepted": 1, "incomplete": 1, "phones": 3}


async def test_a_retraction_is_caused_by_the_late_score_that_flagged_it(cleaner, repo):
    handler = trace_handler(cleaner, lambda uow: repo)
    generation = trace(1)
    await handler(FakeUnitOfWork(), [delivered(generation, 0)])
    flag = late(generation, score(1.0))
    uow = FakeUnitOfWork()
    before = counters(cleaner.config_hash)
    await handler(uow, [delivered(flag, 1)])
    [retraction] = uow.pending
    assert retraction.topic == EXAMPLES_REJECTED
    assert retraction.envelope.causation_id == flag.event_id()
    assert moved(before, counters(cleaner.config_hash)) == {"retracted": 1}


async def test_generations_screened_ahead_get_the_verdicts_the_handler_would_give(cleaner, repo):
    from distillery_cleaner.handlers import screen_ahead
    from distillery_cleaner.services import ScreenedAhead

    batch = [delivered(trace(1, session="call-a"), 0), delivered(trace(2, session="call-b", output=None), 1),
             delivered(trace(3, session="call-c"), 2)]
    plain = FakeUnitOfWork(producer="cleaner/0.1.0")
    await trace_handler(cleaner, lambda uow: type(repo)())(plain, batch)
    ahead = ScreenedAhead(cleaner)
    await screen_ahead(ahead)(batch)
    uow = FakeUnitOfWork(producer="cleaner/0.1.0")
    await trace_handler(cleaner, lambda uow: repo, ahead)(uow, batch)
    assert verdicts(uow) == verdicts(plain) and len(verdicts(uow)) == 3
    assert ahead.take([(d.event, d.envelope) for d in batch]) == {}  # taken once


async def test_a_late_score_stored_after_screening_ahead_still_rejects_the_generation(cleaner, repo):
    from distillery_cleaner.handlers import screen_ahead
    from distillery_cleaner.services import ScreenedAhead

    generation = trace(1)
    ahead = ScreenedAhead(cleaner)
    await screen_ahead(ahead)([delivered(generation, 1)])  # screened as it would pass
    handler = trace_handler(cleaner, lambda uow: repo, ahead)
    await handler(FakeUnitOfWork(), [delivered(late(generation, score(1.0)), 0)])  # the score lands first
    uow = FakeUnitOfWork()
    await handler(uow, [delivered(generation, 1)])
    [verdict] = uow.pending
    assert verdict.topic == EXAMPLES_REJECTED and b'"hallucination"' in verdict.payload

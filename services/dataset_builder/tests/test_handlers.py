"""Storing accepted examples, taking them back when the cleaner changes its mind, queueing builds.

The handlers get typed deliveries and injected fake stores; the use cases they call are
``services.record_examples``, ``record_rejections`` and ``request_builds``.
"""

import json

import pytest

from distillery_contracts.base import Event
from distillery_contracts.commands import BuildDataset
from distillery_contracts.envelope import Envelope
from distillery_contracts.samples import sample_example_rejected
from distillery_dataset_builder.adapters.fakes import FakeDatasetRegistry, FakeExampleStore
from distillery_dataset_builder.handlers import Handlers
from distillery_dataset_builder.samples import synthetic_calls
from distillery_dataset_builder.services import record_examples, record_rejections
from distillery_runtime.consumer import Delivery
from distillery_runtime.tokens import tokenizer_for
from distillery_runtime.uow import FakeUnitOfWork

TOKENIZER = tokenizer_for("gpt-4o-mini-2024-07-18")


def delivered(event: Event, event_id: str) -> Delivery:
    envelope = Envelope.new(event_type=event.event_type, schema_version=event.schema_version, producer="test/1",
                            event_id=event_id)
    return Delivery(envelope, event, topic="t", partition=0, offset=0, key=None)


def handlers(store: FakeExampleStore | None = None, registry: FakeDatasetRegistry | None = None) -> Handlers:
    store, registry = store or FakeExampleStore(), registry or FakeDatasetRegistry()
    return Handlers(lambda uow: store, lambda uow: registry, TOKENIZER)


def rejection(observation: str, reason: str = "hallucination", version: str = "0.1.0", config: str = "cfg-demo"):
    return sample_example_rejected(
        rejection_id=f"rj-{observation}-{version}-{reason}", cleaner_version=version, config_hash=config,
        reason=reason, lineage={**sample_example_rejected().lineage.model_dump(), "observation_id": observation})


async def test_an_example_delivered_twice_is_stored_once():
    store = FakeExampleStore()
    examples = list(synthetic_calls(2, turns=2))
    assert await record_examples(store, examples, TOKENIZER) == 4
    assert await record_examples(store, examples[:1], TOKENIZER) == 0
    assert len(store.rows) == 4


async def test_a_stored_example_keeps_its_lineage_and_training_line():
    store = FakeExampleStore()
    [example] = list(synthetic_calls(1, turns=1))
    await record_examples(store, [example], TOKENIZER)
    record = store.rows[example.example_id]
    assert record.observation_id == "obs-call-000000-000" and record.session_key == "call-000000"
    assert record.body.startswith('{"messages":[{"content":"You are the voice assistant')
    assert record.body_bytes == len(record.body.encode()) and len(record.signature) == 512
    assert record.tokens == TOKENIZER.count_example(json.loads(record.body))
    assert record.token_encoding == "o200k_base"


async def test_a_late_hallucination_verdict_retracts_the_example_of_its_observation():
    store = FakeExampleStore()
    examples = list(synthetic_calls(1, turns=3))
    await record_examples(store, examples, TOKENIZER)
    retracted = await record_rejections(store, [rejection(examples[1].lineage.observation_id)])
    assert retracted == [examples[1].example_id]
    assert await store.count_new(0) == 2


async def test_another_cleaner_versions_ordinary_rejection_leaves_the_example_alone():
    store = FakeExampleStore()
    [example] = list(synthetic_calls(1, turns=1))
    await record_examples(store, [example], TOKENIZER)
    observation = example.lineage.observation_id
    assert await record_rejections(store, [rejection(observation, reason="pii", version="0.2.0")]) == []
    assert await record_rejections(store, [rejection(observation, reason="pii")]) == [example.example_id]


async def test_a_retraction_that_overtakes_its_acceptance_applies_when_the_example_arrives():
    store = FakeExampleStore()
    [example] = list(synthetic_calls(1, turns=1))
    assert await record_rejections(store, [rejection(example.lineage.observation_id)]) == []
    await record_examples(store, [example], TOKENIZER)
    assert store.retracted == {example.example_id: f"rj-{example.lineage.observation_id}-0.1.0-hallucination"}


async def test_an_unrelated_ordinary_rejection_is_not_kept():
    store = FakeExampleStore()
    await record_rejections(store, [rejection("obs-never-accepted", reason="truncated")])
    assert store.kept_rejections == []


async def test_accepted_and_rejected_deliveries_reach_the_example_store():
    store = FakeExampleStore()
    examples = list(synthetic_calls(1, turns=2))
    await handlers(store).on_example_accepted(FakeUnitOfWork(), [delivered(e, e.example_id) for e in examples])
    taken_back = rejection(examples[0].lineage.observation_id)
    await handlers(store).on_example_rejected(FakeUnitOfWork(), [delivered(taken_back, "ev-rejected")])
    assert sorted(store.rows) == sorted(e.example_id for e in examples)
    assert store.retracted == {examples[0].example_id: taken_back.rejection_id}


async def test_a_build_command_is_queued_once_with_its_envelope():
    registry = FakeDatasetRegistry()
    command = BuildDataset(target_size=500, requested_by="ops")
    twice = [delivered(command, command.command_id)] * 2
    await handlers(registry=registry).on_build_dataset(FakeUnitOfWork(), twice)
    request = await registry.next_request()
    assert len(registry.requests) == 1
    assert request is not None and request.target_size == 500 and request.cause["event_id"] == command.command_id


async def test_a_build_command_wakes_the_build_worker_once_committed_and_examples_do_not():
    woken = []
    registry, store = FakeDatasetRegistry(), FakeExampleStore()
    handler = Handlers(lambda uow: store, lambda uow: registry, TOKENIZER, wake=lambda: woken.append(True))
    examples = list(synthetic_calls(1, turns=2))
    async with FakeUnitOfWork() as uow:
        await handler.on_example_accepted(uow, [delivered(e, e.example_id) for e in examples])
        await uow.commit()
    assert woken == []
    command = BuildDataset(target_size=500, requested_by="ops")
    async with FakeUnitOfWork() as uow:
        await handler.on_build_dataset(uow, [delivered(command, command.command_id)])
        assert woken == [], "a worker woken before the commit would find no request and sleep its interval"
        await uow.commit()
    assert woken == [True]


async def test_a_build_command_whose_transaction_fails_wakes_nothing():
    woken = []
    handler = Handlers(lambda uow: FakeExampleStore(), lambda uow: FakeDatasetRegistry(), TOKENIZER,
                       wake=lambda: woken.append(True))
    command = BuildDataset(target_size=500, requested_by="ops")
    uow = FakeUnitOfWork()
    uow.fail_with = ConnectionError("the database went away")
    async with uow:
        await handler.on_build_dataset(uow, [delivered(command, command.command_id)])
        with pytest.raises(ConnectionError):
            await uow.commit()
    async with uow:  # the batch again, in a new transaction: a callback of the failed one is gone
        uow.fail_with = None
        await uow.commit()
    assert woken == []

"""Erasing a caller: their examples leave the store (so no later dataset holds them) and the
service reports what it removed, once, through the outbox."""

from distillery_contracts.privacy import CallerErased, EraseCaller
from distillery_contracts.registry import PRIVACY_ERASURES
from distillery_dataset_builder.adapters.fakes import FakeDatasetRegistry, FakeErasureStore, FakeExampleStore
from distillery_dataset_builder.handlers import Handlers
from distillery_dataset_builder.samples import synthetic_calls
from distillery_dataset_builder.services import record_examples
from distillery_runtime.tokens import tokenizer_for
from distillery_runtime.consumer import delivery_of
from distillery_runtime.uow import FakeUnitOfWork


TOKENIZER = tokenizer_for("gpt-4o-mini-2024-07-18")


async def stored_calls(calls: int = 3) -> tuple[FakeDatasetRegistry, list]:
    store = FakeExampleStore()
    examples = list(synthetic_calls(calls, turns=2))
    await record_examples(store, examples, TOKENIZER)
    return FakeDatasetRegistry(store), examples


async def erase(registry: FakeDatasetRegistry, command: EraseCaller) -> FakeUnitOfWork:
    erasures = FakeErasureStore(registry)
    handlers = Handlers(lambda uow: registry.examples, lambda uow: registry, TOKENIZER, lambda uow: erasures)
    uow = FakeUnitOfWork()
    await handlers.on_erase_caller(uow, [delivery_of(command)])
    await uow.commit()
    return uow


def reports(uow: FakeUnitOfWork) -> list[CallerErased]:
    assert {m.topic for m in uow.committed} <= {PRIVACY_ERASURES}
    return [CallerErased.model_validate_json(m.payload) for m in uow.committed]


async def test_erasing_a_session_removes_every_example_of_that_call_and_no_other():
    registry, examples = await stored_calls()
    session = examples[0].lineage.session_id
    others = {e.example_id for e in examples if e.lineage.session_id != session}

    uow = await erase(registry, EraseCaller(session_id=session, requested_by="dpo"))

    assert set(registry.examples.rows) == others
    [report] = reports(uow)
    assert report.service == "dataset-builder" and report.session_id == session
    assert {s.store: s.removed for s in report.stores}["dataset-builder.examples"] == len(examples) - len(others)


async def test_erasing_one_trace_leaves_the_rest_of_its_call():
    registry, examples = await stored_calls(1)
    first, second = examples

    uow = await erase(registry, EraseCaller(trace_id=first.lineage.trace_id, requested_by="dpo"))

    assert set(registry.examples.rows) == {e.example_id for e in examples if e.lineage.trace_id != first.lineage.trace_id}
    [report] = reports(uow)
    assert report.stores[0].removed == len(examples) - len(registry.examples.rows)


async def test_a_session_id_never_matches_examples_without_one():
    registry, examples = await stored_calls(1)
    uow = await erase(registry, EraseCaller(session_id="call-nobody", requested_by="dpo"))
    assert len(registry.examples.rows) == len(examples)
    [report] = reports(uow)
    assert all(s.removed == 0 for s in report.stores)


async def test_examples_past_their_retention_are_forgotten_oldest_first_in_bounded_batches():
    from datetime import UTC, datetime, timedelta

    from distillery_dataset_builder.adapters.fakes import FakeExampleRetention
    from distillery_dataset_builder.services import forget_old_examples

    registry, examples = await stored_calls(2)  # 2 calls x 2 turns
    retention = FakeExampleRetention(registry)
    now = datetime.now(UTC)
    ages = [40, 31, 30.5, 29]  # days, in stored order
    for example, age in zip(list(registry.examples.rows), ages, strict=True):
        retention.stored_at[example] = now - timedelta(days=age)

    assert await forget_old_examples(retention, timedelta(days=30), 2, now) == 2
    assert await forget_old_examples(retention, timedelta(days=30), 2, now) == 1
    assert await forget_old_examples(retention, timedelta(days=30), 2, now) == 0
    assert list(registry.examples.rows) == [examples[3].example_id]

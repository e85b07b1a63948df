"""The console obeys an erasure and its retention: a caller's items, examples and dead
letters go, and the report says what went, store by store (fake stores; the SQL ones are
tested against PostgreSQL in tests/integration/test_console_privacy.py)."""

from __future__ import annotations

from datetime import timedelta

from recorded_streams import ACCEPTED_TRACE, RUN, T0

from distillery_console import services
from distillery_console.adapters.fakes import FakeErasureStore
from distillery_console.handlers import Handlers
from distillery_contracts.privacy import CallerErased, EraseCaller
from distillery_contracts.registry import PRIVACY_ERASURES
from distillery_runtime.consumer import delivery_of
from distillery_runtime.uow import FakeUnitOfWork


async def erase(fed_store, data_store, **caller) -> CallerErased:  # noqa: ANN001
    handlers = Handlers(lambda _: fed_store, lambda _: data_store, lambda _: FakeErasureStore(fed_store, data_store))
    uow = FakeUnitOfWork()
    await handlers.on_erase_caller(uow, [delivery_of(EraseCaller(requested_by="dpo", reason="request", **caller))])
    [report] = uow.pending
    assert report.topic == PRIVACY_ERASURES
    return CallerErased.model_validate_json(report.payload)


async def test_erasing_a_session_removes_its_examples_and_the_items_of_their_traces(fed_store, data_store):
    report = await erase(fed_store, data_store, session_id="call-a0")
    removed = {s.store: s.removed for s in report.stores}
    assert removed == {"console.eval_items": 1, "console.examples": 1, "console.dead_letters": 0}
    assert report.service == "console"
    assert not [r for r in data_store.example_rows.values() if r.session_id == "call-a0"]
    assert not [i for i, _ in fed_store.item_rows.values() if i.trace_id == ACCEPTED_TRACE]
    assert len(fed_store.item_rows) == 11


async def test_erasing_the_session_a_dead_letter_names_removes_the_letter(fed_store, data_store):
    report = await erase(fed_store, data_store, session_id="call-dl")
    assert {s.store: s.removed for s in report.stores}["console.dead_letters"] == 1
    assert data_store.letter_rows == {}


async def test_erasing_a_trace_removes_its_item_and_examples(fed_store, data_store):
    report = await erase(fed_store, data_store, trace_id="tr-rejected-1")
    assert {s.store: s.removed for s in report.stores}["console.examples"] == 1
    report = await erase(fed_store, data_store, trace_id="tr-item-4")
    assert {s.store: s.removed for s in report.stores}["console.eval_items"] == 1
    assert (RUN, "golden-0004") not in fed_store.item_rows


async def test_retention_forgets_each_table_after_its_own_days_at_most_limit_rows(fed_store, data_store):
    retention = {"eval_items": timedelta(days=90), "examples": timedelta(days=30), "dead_letters": timedelta(days=30)}
    # 30 days after the examples: the 7 examples (decided just before T0) are past, the rest not.
    now = T0 + timedelta(days=30)
    assert await services.forget_old_rows(data_store, now, retention, limit=5) == 5
    assert await services.forget_old_rows(data_store, now, retention, limit=5) == 2
    assert len(data_store.letter_rows) == 1 and len(fed_store.item_rows) == 12
    later = T0 + timedelta(days=90, hours=5)
    assert await services.forget_old_rows(data_store, later, retention, limit=100) == 1 + 12

"""Erasing a caller from the trace-ingester: the record of published generations forgets the
caller's session (the ids stay, so the call is never read from Langfuse again)."""

from __future__ import annotations

from datetime import UTC, datetime

from distillery_contracts.privacy import CallerErased, EraseCaller
from distillery_runtime.erasure import erasure_report
from distillery_trace_ingester.adapters.fakes import FakeErasureStore, FakeIngesterState, FakeIngesterStore
from distillery_trace_ingester.domain.records import Claim, Outcome
from distillery_trace_ingester.handlers import Handlers

T0 = datetime(2026, 9, 1, tzinfo=UTC)


async def erase(state: FakeIngesterState, command: EraseCaller) -> CallerErased:
    handlers = Handlers(lambda uow: FakeIngesterStore(state), ["clinic"], lambda uow: FakeErasureStore(state))
    return await erasure_report(handlers.on_erase_caller, command)


async def test_the_erased_session_is_forgotten_and_the_ids_that_stop_a_second_read_stay():
    state = FakeIngesterState()
    for n, session in enumerate(["call-jane", "call-jane", "call-other"]):
        state.published[("clinic", f"obs-{n}")] = Claim(f"obs-{n}", f"tr-{n}", session, T0, Outcome.PUBLISHED)

    report = await erase(state, EraseCaller(session_id="call-jane", requested_by="dpo"))

    assert {k: c.session_id for k, c in state.published.items()} == {
        ("clinic", "obs-0"): None, ("clinic", "obs-1"): None, ("clinic", "obs-2"): "call-other"}
    assert report.service == "trace-ingester" and report.stores[0].removed == 2

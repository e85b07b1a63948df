"""Which rows are a caller's, the one rule every service's erasure store (SQL and fake) follows."""

from __future__ import annotations

from distillery_contracts.privacy import EraseCaller, StoreErasure
from distillery_runtime.erasure import AbstractErasureStore, Caller, erase_callers, erasure_report, matches_sql


def test_a_session_erasure_matches_the_sessions_rows_whatever_their_trace():
    caller = Caller.of(EraseCaller(session_id="call-jane", requested_by="dpo"))
    assert caller.matches("call-jane", "tr-1") and caller.matches("call-jane", None)
    assert not caller.matches("call-other", "tr-1")


def test_a_trace_erasure_matches_that_trace_only():
    caller = Caller.of(EraseCaller(trace_id="tr-1", requested_by="dpo"))
    assert caller.matches(None, "tr-1") and caller.matches("call-jane", "tr-1")
    assert not caller.matches("call-jane", "tr-2")


def test_a_missing_id_never_matches_as_null_never_equals_in_sql():
    assert not Caller("call-jane", None).matches("call-other", None)
    assert not Caller(None, "tr-1").matches(None, None)


def test_the_sql_condition_names_the_given_columns_and_the_callers_parameters():
    condition = matches_sql("e.session_id", "e.trace_id")
    assert "e.session_id = :session_id" in condition and "e.trace_id = :trace_id" in condition
    assert set(Caller("call-jane", None).params) == {"session_id", "trace_id"}


class Counting(AbstractErasureStore):
    async def erase(self, caller: Caller) -> list[StoreErasure]:
        return [StoreErasure(store="test.rows", removed=2 if caller.session_id else 0)]


async def test_the_report_of_an_erasure_names_the_command_and_what_each_store_removed():
    async def handler(uow, deliveries):
        await erase_callers(uow, Counting(), "test", [d.event for d in deliveries])

    command = EraseCaller(session_id="call-jane", requested_by="dpo")
    report = await erasure_report(handler, command)
    assert report.erasure_id == command.command_id and report.service == "test"
    assert [(s.store, s.removed) for s in report.stores] == [("test.rows", 2)]

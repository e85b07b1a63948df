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


def test_by_default_the_sql_condition_reads_the_session_id_and_trace_id_columns():
    assert matches_sql() == ("((cast(:session_id as text) is not null and session_id = :session_id) "
                             "or trace_id = :trace_id)")
    assert Caller("call-jane", "tr-1").params == {"session_id": "call-jane", "trace_id": "tr-1"}


async def test_the_report_goes_to_the_erasures_topic_naming_the_caller_and_is_logged_without_them():
    from structlog.testing import capture_logs

    from distillery_contracts.privacy import CallerErased
    from distillery_contracts.registry import PRIVACY_ERASURES
    from distillery_runtime.uow import FakeUnitOfWork

    uow = FakeUnitOfWork()
    commands = [EraseCaller(session_id="call-jane", requested_by="dpo"),
                EraseCaller(trace_id="tr-9", requested_by="dpo")]
    with capture_logs() as logs:
        await erase_callers(uow, Counting(), "test", commands)
    await uow.commit()
    assert [m.topic for m in uow.committed] == [PRIVACY_ERASURES] * 2
    reports = [CallerErased.model_validate_json(m.payload) for m in uow.committed]
    assert [(r.session_id, r.trace_id, r.erasure_id) for r in reports] == [
        ("call-jane", None, commands[0].command_id), (None, "tr-9", commands[1].command_id)]
    assert logs == [{"event": "caller erased", "log_level": "info", "service": "test",
                     "erasure_id": c.command_id, "removed": removed} for c, removed in zip(commands, (2, 0))]


def test_every_service_reads_every_erasure_command_in_a_group_of_its_own():
    from distillery_contracts.registry import COMMANDS_PRIVACY
    from distillery_runtime.erasure import erasure_subscription

    async def handler(uow, deliveries):
        return None

    subscription = erasure_subscription("cleaner", handler)
    assert (subscription.topic.name, subscription.event, subscription.handler, subscription.group) == (
        COMMANDS_PRIVACY, EraseCaller, handler, "distillery.cleaner.privacy")


async def test_a_statement_store_runs_its_statement_with_the_callers_ids_and_reports_the_counts_row():
    from sqlalchemy import text

    from distillery_runtime.erasure import StatementErasureStore

    statement, seen = text("select 3, 1"), []

    class Conn:
        async def execute(self, what, params):
            seen.append((what, params))

            class Result:
                def one(self):
                    return (3, 1)
            return Result()

    def report(examples, scores):
        return [StoreErasure(store="t.examples", removed=examples), StoreErasure(store="t.scores", removed=scores)]

    stores = await StatementErasureStore(Conn(), statement, report).erase(Caller("call-jane", None))
    assert seen == [(statement, {"session_id": "call-jane", "trace_id": None})]
    assert [(s.store, s.removed) for s in stores] == [("t.examples", 3), ("t.scores", 1)]

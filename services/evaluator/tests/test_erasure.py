"""Erasing a caller from the evaluator: their sampled live calls (the whole trace, their words)
and the scores of those calls go; other callers' stay; the report says how many."""

from datetime import UTC, datetime

from distillery_contracts.privacy import CallerErased, EraseCaller
from distillery_contracts.samples import sample_trace_captured
from distillery_evaluator.adapters.fakes import FakeErasureStore, FakeEvalRepository
from distillery_evaluator.adapters.repository import QueuedCall
from distillery_evaluator.domain.requests import ModelTarget
from distillery_evaluator.handlers import Handlers
from distillery_runtime.consumer import delivery_of
from distillery_runtime.uow import FakeUnitOfWork


def queued(repo: FakeEvalRepository, observation_id: str, session_id: str, trace_id: str, scored: bool) -> None:
    trace = sample_trace_captured(observation_id=observation_id, session_id=session_id, trace_id=trace_id)
    payload = trace.model_dump(mode="json")
    repo.queue[observation_id] = QueuedCall(observation_id, "ro-1", payload, {}, 0)
    repo.queue_state[observation_id] = ("done" if scored else "pending", datetime.now(UTC))
    repo.queued_at[observation_id] = datetime.now(UTC)
    if scored:
        repo.online[observation_id] = {"arm": "candidate", "model": "m", "teacher_answer": "Your card ends 1111",
                                       "findings": [], "scored": {"session_id": session_id, "trace_id": trace_id}}


async def erase(repo: FakeEvalRepository, command: EraseCaller) -> CallerErased:
    handlers = Handlers(lambda uow: repo, ModelTarget(model="t"), "voice", 0.1, lambda uow: FakeErasureStore(repo))
    uow = FakeUnitOfWork()
    await handlers.on_erase_caller(uow, [delivery_of(command)])
    await uow.commit()
    [message] = uow.committed
    return CallerErased.model_validate_json(message.payload)


async def test_erasing_a_session_removes_its_live_calls_and_their_scores_only():
    repo = FakeEvalRepository()
    queued(repo, "o1", "call-jane", "tr-1", scored=True)
    queued(repo, "o2", "call-jane", "tr-2", scored=False)
    queued(repo, "o3", "call-other", "tr-3", scored=True)

    report = await erase(repo, EraseCaller(session_id="call-jane", requested_by="dpo"))

    assert set(repo.queue) == set(repo.queue_state) == set(repo.queued_at) == {"o3"}
    assert set(repo.online) == {"o3"}
    assert {s.store: s.removed for s in report.stores} == {"evaluator.online_queue": 2, "evaluator.online_scores": 1}


async def test_erasing_a_trace_removes_that_turn_only():
    repo = FakeEvalRepository()
    queued(repo, "o1", "call-jane", "tr-1", scored=True)
    queued(repo, "o2", "call-jane", "tr-2", scored=True)

    report = await erase(repo, EraseCaller(trace_id="tr-2", requested_by="dpo"))

    assert set(repo.queue) == set(repo.online) == {"o1"}
    assert report.trace_id == "tr-2" and report.service == "evaluator"

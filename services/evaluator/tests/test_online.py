"""Live calls of a rollout scored online: CallScored events and Langfuse scores."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from evaluator_support import STUDENT, TEACHER, transient_failure

from distillery_contracts.envelope import Envelope
from distillery_contracts.registry import EVALUATIONS_ONLINE
from distillery_contracts.samples import sample_trace_captured
from distillery_evaluator.adapters.chat import CallPolicy
from distillery_evaluator.adapters.fakes import FakeChatClient, FakeEmbedder, FakeLangfuseSink
from distillery_evaluator.domain.requests import ModelTarget
from distillery_evaluator.scorers import (
    DeterministicHallucinationScorer,
    EmbeddingSimilarityScorer,
    PairwiseJudgeScorer,
)
from distillery_evaluator.services import OnlineEvaluator, queue_live_calls
from distillery_runtime.uow import FakeUnitOfWork

QUESTION = [{"role": "system", "content": "Clinic line. Facts: a skin check costs €90."},
            {"role": "user", "content": "How much is a skin check?"}]
RIGHT = "A skin check costs €90."


def live_call(answer: str, arm: str = "candidate", model: str = STUDENT):
    return sample_trace_captured(
        observation_id=f"obs-{arm}", model=model, input_messages=QUESTION, tools=[],
        output={"role": "assistant", "content": answer},
        metadata={"arm": arm, "rollout_id": "ro-1", "stage": 1, "call_id": "call-1"})


def evaluator(repo, client, uows, sink=None, attempts=3) -> OnlineEvaluator:
    def new_uow():
        uow = FakeUnitOfWork()
        uows.append(uow)
        return uow

    policy = CallPolicy(attempts=1, backoff_s=0.0, timeout_s=2.0)
    judge = PairwiseJudgeScorer(client, ModelTarget(model=TEACHER), policy)
    return OnlineEvaluator(new_uow, lambda uow: repo, client, ModelTarget(model=TEACHER),
                           [DeterministicHallucinationScorer(), judge,
                            EmbeddingSimilarityScorer(FakeEmbedder())],
                           lambda m, u: 0.0004, policy, attempts=attempts, langfuse=sink)


def teacher_and_judge(target, messages):
    if messages[0]["content"].startswith("You are an impartial judge"):
        first = messages[1]["content"].split("Answer A:\n")[1].split("\n\nAnswer B")[0]
        return '{"winner": "A"}' if first == RIGHT else '{"winner": "B"}'
    return RIGHT


async def enqueue(repo, trace):
    cause = Envelope.new(event_type="TraceCaptured", schema_version=1, producer="ingester/1",
                         event_id=trace.observation_id, correlation_id="cycle-0002")
    await queue_live_calls(repo, [(trace, cause)], sample_rate=1.0)


def emitted(uows):
    return [json.loads(m.payload) | {"_causation": m.envelope.causation_id, "_topic": m.topic}
            for uow in uows for m in uow.committed]


async def test_a_student_call_with_an_invented_price_is_scored_against_the_teacher(repo):
    uows, sink = [], FakeLangfuseSink()
    await enqueue(repo, live_call("A skin check costs €75."))

    assert await evaluator(repo, FakeChatClient(teacher_and_judge), uows, sink).score_pending() == 1

    [event] = emitted(uows)
    assert event["_topic"] == EVALUATIONS_ONLINE and event["_causation"] == "obs-candidate"
    assert event["hallucinated"] is True and event["judge_outcome"] == "loss"
    assert event["arm"] == "candidate" and event["stage_index"] == 1 and event["rollout_id"] == "ro-1"
    assert 0 < event["similarity"] < 1 and event["cost_usd"] == 0.0004
    assert repo.online["obs-candidate"]["teacher_answer"] == RIGHT
    written = {(obs, s.name) for _, obs, s in sink.trace_scores}
    assert ("obs-candidate", "distillery.hallucination") in written
    assert ("obs-candidate", "distillery.judge") in written


async def test_a_call_claimed_again_while_this_instance_scored_it_publishes_nothing_from_it(repo):
    uows, sink = [], FakeLangfuseSink()
    await enqueue(repo, live_call("A skin check costs €75."))

    def slow_teacher(target, messages):  # meanwhile the lease ran out and another instance claimed the call
        repo.queue_state["obs-candidate"] = ("pending", datetime.now(UTC) + timedelta(minutes=5))
        return teacher_and_judge(target, messages)

    assert await evaluator(repo, FakeChatClient(slow_teacher), uows, sink).score_pending() == 1

    assert emitted(uows) == [] and "obs-candidate" not in repo.online and sink.trace_scores == []
    assert repo.queue_state["obs-candidate"][0] == "pending"  # the other instance finishes it


async def test_the_teachers_own_calls_are_checked_without_asking_it_again(repo):
    uows, client = [], FakeChatClient(teacher_and_judge)
    await enqueue(repo, live_call(RIGHT, arm="teacher", model=TEACHER))
    await evaluator(repo, client, uows).score_pending()
    [event] = emitted(uows)
    assert event["hallucinated"] is False and event["judge_outcome"] is None
    assert client.calls == []


async def test_a_teacher_outage_defers_the_call_then_scores_what_it_can(repo):
    uows = []
    client = FakeChatClient(lambda target, messages: transient_failure(503))
    await enqueue(repo, live_call("A skin check costs €75."))
    online = evaluator(repo, client, uows, attempts=2)

    await online.score_pending()
    assert emitted(uows) == [] and repo.queue["obs-candidate"].attempts == 1
    repo.queue_state["obs-candidate"] = ("pending", datetime.now(UTC) - timedelta(seconds=1))
    await online.score_pending()

    [event] = emitted(uows)
    assert event["hallucinated"] is True and event["judge_outcome"] is None
    assert event["similarity"] is None

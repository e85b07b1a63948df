"""Scores written back to Langfuse with the real SDK, against the Langfuse sandbox."""

from __future__ import annotations

import httpx
import pytest

from distillery_evaluator.adapters.langfuse_sink import EvalGeneration, LangfuseSdkSink, ScoreWrite
from distillery_sandbox.langfuse import LangfuseStore, Project, run_in_thread

pytestmark = pytest.mark.integration
AUTH = ("pk-lf-eval", "sk-lf-eval")
RETRY_AUTH = ("pk-lf-eval-retry", "sk-lf-eval-retry")


@pytest.fixture
def langfuse_url():
    with run_in_thread([Project(*AUTH, LangfuseStore("eval"))]) as url:
        yield url


async def test_eval_answers_become_traces_with_their_scores_and_live_scores_land_on_the_call(langfuse_url):
    sink = LangfuseSdkSink(langfuse_url, *AUTH, environment="evaluation")
    messages = [{"role": "user", "content": "How much is a skin check?"}]
    await sink.record_run([
        EvalGeneration("eval-1", "g-skin", "candidate", "ft:gpt-4o-mini:x", messages, "It's €75.",
                       {"input": 40, "output": 5}, None,
                       [ScoreWrite("distillery.deterministic", 1.0, "hallucinated")]),
        EvalGeneration("eval-1", "g-skin", "teacher", "gpt-4.1", messages, "It's €90.",
                       {"input": 40, "output": 5}, None, [ScoreWrite("distillery.deterministic", 0.0)]),
    ])
    await sink.score_trace("live-trace-1", "live-obs-1", [ScoreWrite("distillery.judge", "loss")])
    await sink.score_trace("live-trace-1", "live-obs-1", [ScoreWrite("distillery.judge", "loss")])

    with httpx.Client(base_url=langfuse_url, auth=AUTH) as client:
        observations = client.get("/api/public/v2/observations",
                                  params={"fields": "core,basic,io,model,metadata"}).json()["data"]
        scores = client.get("/api/public/v3/scores", params={"fields": "subject"}).json()["data"]
    for score in scores:
        subject = score["subject"]
        score["traceId"] = subject["id"] if subject["kind"] == "trace" else subject["traceId"]
        score["observationId"] = subject["id"] if subject["kind"] == "observation" else None
    assert {o["metadata"]["role"] for o in observations} == {"candidate", "teacher"}
    assert {o["environment"] for o in observations} == {"evaluation"}
    by_trace = {o["traceId"]: o["metadata"]["role"] for o in observations}
    eval_scores = {(by_trace[s["traceId"]], s["value"]) for s in scores if s["traceId"] in by_trace}
    assert eval_scores == {("candidate", 1.0), ("teacher", 0.0)}
    live = [s for s in scores if s["traceId"] == "live-trace-1"]
    assert len(live) == 1 and live[0]["observationId"] == "live-obs-1"
    assert live[0]["name"] == "distillery.judge"


@pytest.fixture
def retry_langfuse_url():
    # Keys of its own: the SDK keeps one client per public key in a process, bound to the first URL.
    with run_in_thread([Project(*RETRY_AUTH, LangfuseStore("eval-retry"))]) as url:
        yield url


async def test_a_retried_write_back_replaces_the_generations_instead_of_adding_more(retry_langfuse_url):
    """A run's write-back that is retried (or done again by the instance that took the run over)
    must leave one generation per answer: the observation ids are derived from the answer."""
    langfuse_url, AUTH = retry_langfuse_url, RETRY_AUTH  # noqa: N806
    sink = LangfuseSdkSink(langfuse_url, *AUTH, environment="evaluation")
    messages = [{"role": "user", "content": "When are you open on Friday?"}]

    def answers(text: str) -> list[EvalGeneration]:
        return [EvalGeneration("eval-2", "g-friday", role, "gpt-4.1", messages, text, {"input": 9, "output": 4}, None,
                               [ScoreWrite("distillery.similarity", 0.9)]) for role in ("candidate", "teacher")]

    await sink.record_run(answers("08:00 to 17:00."))
    await sink.record_run(answers("From 08:00 to 17:00."))  # the retry

    with httpx.Client(base_url=langfuse_url, auth=AUTH) as client:
        observations = client.get("/api/public/v2/observations",
                                  params={"fields": "core,basic,io,metadata"}).json()["data"]
        scores = client.get("/api/public/v3/scores").json()["data"]
    assert sorted(o["metadata"]["role"] for o in observations) == ["candidate", "teacher"]
    assert {o["output"] for o in observations} == {"From 08:00 to 17:00."}  # the newer version won
    assert len(scores) == 2
    other = LangfuseSdkSink(langfuse_url, *AUTH, environment="evaluation")  # another instance, same ids
    await other.record_run(answers("From 08:00 to 17:00."))
    with httpx.Client(base_url=langfuse_url, auth=AUTH) as client:
        assert len(client.get("/api/public/v2/observations").json()["data"]) == 2

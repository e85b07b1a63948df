"""Scores written back to Langfuse with the real SDK, against the Langfuse sandbox."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from distillery_evaluator.adapters.langfuse_sink import EvalGeneration, LangfuseSdkSink, ScoreWrite
from distillery_sandbox.langfuse import LangfuseStore, Project, create_app

pytestmark = pytest.mark.integration
AUTH = ("pk-lf-eval", "sk-lf-eval")


@pytest.fixture
def langfuse_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app([Project(*AUTH, LangfuseStore("eval"))]),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


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

"""Offline runs with fake endpoints: verdicts, reports, retries and errors."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from evaluator_support import (
    PROD,
    STUDENT,
    TEACHER,
    make_evaluator,
    queued,
    teacher_like,
    transient_failure,
    with_student,
    wrong_prices,
)

from distillery_contracts.envelope import Envelope
from distillery_contracts.evaluations import EvalOutcome
from distillery_contracts.evaluations import EvaluationItemScored
from distillery_contracts.registry import EVALUATIONS_COMPLETED, EVALUATIONS_ITEMS
from distillery_evaluator.adapters.chat import EndpointError
from distillery_evaluator.adapters.fakes import FakeChatClient, FakeLangfuseSink
from distillery_evaluator.domain.requests import ModelTarget


def gate(event, name):
    return next(g for g in event.gates if g.name == name)


async def test_a_student_answering_like_the_teacher_passes_every_gate(repo, request_, tmp_path):
    client = FakeChatClient(teacher_like)
    event, _ = await make_evaluator(repo, client, tmp_path).execute(await queued(repo, request_))

    assert event.outcome is EvalOutcome.PASSED, event.gates
    assert {g.name for g in event.gates} >= {"hallucination", "judge_non_inferiority", "similarity",
                                              "latency_p95", "error_rate"}
    assert event.metrics[STUDENT].hallucination_rate == 0.0
    assert event.metrics[STUDENT].tie_rate == 1.0
    assert event.scorers_ran[:4] == ["deterministic", "embedding", "llm_hallucination", "judge"]
    assert [s.name for s in event.eval_sets] == ["golden"]


async def test_a_student_with_invented_prices_fails_the_hallucination_gate(repo, request_, tmp_path):
    client = FakeChatClient(with_student(wrong_prices))
    event, _ = await make_evaluator(repo, client, tmp_path, figures=True).execute(
        await queued(repo, request_))

    assert event.outcome is EvalOutcome.FAILED
    hallucination = gate(event, "hallucination")
    assert not hallucination.passed and hallucination.value == 2 / 5
    assert hallucination.ci_low < 0.4 < hallucination.ci_high
    report = (tmp_path / "reports" / "eval-test" / "report.md").read_text()
    assert "Hallucinated answers of the candidate (2)" in report
    assert "A skin check costs €75" in report and "price '€75' contradicts the reference" in report
    assert event.report_uri.endswith("/eval-test/report.md")
    for figure in ("hallucination.png", "judge.png", "similarity.png", "latency.png"):
        assert f"]({figure})" in report
        assert (tmp_path / "reports" / "eval-test" / figure).stat().st_size > 1000


async def test_transient_failures_are_retried_and_counted(repo, request_, tmp_path):
    failures = {"left": 3}

    def flaky(target, messages):
        if target.model == STUDENT and failures["left"]:
            failures["left"] -= 1
            return transient_failure(429)
        return teacher_like(target, messages)

    client = FakeChatClient(flaky)
    event, _ = await make_evaluator(repo, client, tmp_path).execute(await queued(repo, request_))

    assert event.outcome is EvalOutcome.PASSED
    answers = await repo.answers("eval-test")
    assert sum(a.attempts - 1 for a in answers if a.role == "candidate") == 3
    assert client.calls_to(STUDENT) == 5 + 3


async def test_an_endpoint_failing_mid_run_ends_the_run_as_an_error(repo, request_, tmp_path):
    served = {"n": 0}

    def dies_after_two(target, messages):
        if target.model == STUDENT:
            served["n"] += 1
            if served["n"] > 2:
                return transient_failure(503)
        return teacher_like(target, messages)

    client = FakeChatClient(dies_after_two)
    event, _ = await make_evaluator(repo, client, tmp_path).execute(await queued(repo, request_))

    assert event.outcome is EvalOutcome.ERROR
    assert "candidate model" in event.error_message and "HTTP 503" in event.error_message
    assert event.gates == []
    assert client.calls_to(STUDENT) == 2 + 3 * 3  # three prompts, three attempts each
    report = (tmp_path / "reports" / "eval-test" / "report.md").read_text()
    assert "could not finish" in report and "never a pass" in report


async def test_a_judge_that_keeps_failing_ends_the_run_as_an_error(repo, request_, tmp_path):
    def judge_down(target, messages):
        if messages[0]["content"].startswith("You are an impartial judge"):
            return transient_failure(500)
        return teacher_like(target, messages)

    event, _ = await make_evaluator(repo, FakeChatClient(judge_down), tmp_path).execute(
        await queued(repo, request_))

    assert event.outcome is EvalOutcome.ERROR
    assert "scorer judge could not finish" in event.error_message


async def test_a_client_error_is_not_retried(repo, request_, tmp_path):
    def missing_model(target, messages):
        if target.model == STUDENT:
            return EndpointError("HTTP 404: model not found", retryable=False, status=404)
        return teacher_like(target, messages)

    client = FakeChatClient(missing_model)
    event, _ = await make_evaluator(repo, client, tmp_path).execute(await queued(repo, request_))

    assert event.outcome is EvalOutcome.ERROR
    assert client.calls_to(STUDENT) == 5


async def test_without_a_judge_the_local_scorers_still_run_and_the_report_says_so(repo, request_, tmp_path):
    event, notes = await make_evaluator(repo, FakeChatClient(teacher_like), tmp_path, judge=False
                                        ).execute(await queued(repo, request_))

    assert event.outcome is EvalOutcome.PASSED
    assert "judge" not in event.scorers_ran and "deterministic" in event.scorers_ran
    assert "embedding" in event.scorers_ran
    assert notes["skipped_scorers"] == ["LLM judges (no judge endpoint)"]
    report = (tmp_path / "reports" / "eval-test" / "report.md").read_text()
    assert "scorers not run: LLM judges (no judge endpoint)" in report
    assert "judge_non_inferiority: no judge endpoint configured" in report


async def test_a_candidate_worse_than_the_production_student_fails(repo, request_, tmp_path):
    request = request_.model_copy(update={"production": ModelTarget(model=PROD)})
    client = FakeChatClient(with_student(wrong_prices))
    event, _ = await make_evaluator(repo, client, tmp_path).execute(await queued(repo, request))

    assert event.production_model == PROD
    assert not gate(event, "vs_production_hallucination").passed
    assert event.metrics[PROD].hallucination_rate == 0.0
    assert client.calls_to(PROD) == 5


async def test_a_resumed_run_asks_only_for_the_missing_answers(repo, request_, tmp_path):
    client = FakeChatClient(teacher_like)
    record = await queued(repo, request_)
    await make_evaluator(repo, client, tmp_path).execute(record)
    asked = len(client.calls)
    del repo.run_answers["eval-test"][("g-skin", "candidate")]

    event, _ = await make_evaluator(repo, client, tmp_path).execute(record)

    assert event.outcome is EvalOutcome.PASSED
    student_calls = [c for c in client.calls[asked:] if c[0] == STUDENT]
    assert len(student_calls) == 1


async def test_scores_reach_langfuse_on_eval_traces_and_its_outage_changes_no_verdict(repo, request_, tmp_path):
    sink = FakeLangfuseSink()
    event, _ = await make_evaluator(repo, FakeChatClient(teacher_like), tmp_path, langfuse=sink
                                    ).execute(await queued(repo, request_))
    assert len(sink.generations) == 10
    names = {s.name for g in sink.generations if g.role == "candidate" for s in g.scores}
    assert names == {"distillery.deterministic", "distillery.embedding",
                     "distillery.llm_hallucination", "distillery.judge"}

    down = FakeLangfuseSink(fail=True)
    again, _ = await make_evaluator(repo, FakeChatClient(teacher_like), tmp_path, langfuse=down
                                    ).execute(await queued(repo, request_.model_copy(update={"run_id": "eval-2"})))
    assert again.outcome is event.outcome is EvalOutcome.PASSED


async def test_calls_stay_within_the_concurrency_limit(repo, request_, tmp_path):
    client = FakeChatClient(teacher_like, delay_s=0.01)
    await make_evaluator(repo, client, tmp_path).execute(await queued(repo, request_))
    assert 1 < client.max_in_flight <= 4 + 4  # run limit, plus the judges' own limit
    assert TEACHER in {name for name, _ in client.calls}


async def test_the_next_run_is_taken_judged_and_its_verdict_published_with_its_cause(repo, request_, tmp_path):
    cause = Envelope.new(event_type="FinetuneJobChanged", schema_version=1, producer="finetune/1",
                         event_id="job-1:succeeded", correlation_id="cycle-0001")
    await repo.create_run(request_, cause.model_dump(mode="json"))
    uows = []
    evaluator = make_evaluator(repo, FakeChatClient(teacher_like), tmp_path, uows=uows)

    assert await evaluator.run_next() is True
    assert await evaluator.run_next() is False

    committed = [m for uow in uows for m in uow.committed]
    [published] = [m for m in committed if m.topic == EVALUATIONS_COMPLETED]
    assert published.envelope.causation_id == "job-1:succeeded"
    assert published.envelope.correlation_id == "cycle-0001"
    stored = await repo.run("eval-test")
    assert stored.status == "done" and stored.outcome == "passed"
    assert json.loads(published.payload)["run_id"] == "eval-test" == stored.result["run_id"]


async def test_a_run_waiting_for_its_dataset_is_handed_back_unpublished(repo, request_, tmp_path):
    await repo.create_run(request_.model_copy(update={"dataset_id": "ds-late"}), None)
    repo.runs["eval-test"] = replace(repo.runs["eval-test"], requested_at=datetime.now(UTC))
    uows = []
    evaluator = make_evaluator(repo, FakeChatClient(teacher_like), tmp_path, uows=uows)

    assert await evaluator.run_next() is True

    assert [m for uow in uows for m in uow.committed] == []
    assert (await repo.run("eval-test")).status == "running"
    assert repo.leases["eval-test"] < datetime.now(UTC) + timedelta(seconds=3)


async def test_each_scored_item_is_published_with_the_verdict_in_the_same_transaction(repo, request_, tmp_path):
    await repo.create_run(request_, None)
    uows = []
    evaluator = make_evaluator(repo, FakeChatClient(teacher_like), tmp_path, uows=uows)

    assert await evaluator.run_next() is True

    [finished] = [uow for uow in uows if any(m.topic == EVALUATIONS_COMPLETED for m in uow.committed)]
    items = [EvaluationItemScored.model_validate_json(m.payload) for m in finished.committed
             if m.topic == EVALUATIONS_ITEMS]
    stored = await repo.items("eval-test")
    assert sorted(i.item_id for i in items) == sorted(i.item_id for i in stored) and items
    assert [i.position for i in items] == list(range(len(items)))
    assert {i.run_id for i in items} == {"eval-test"}
    assert all({a.role for a in i.answers} >= {"teacher", "candidate"} for i in items)


"""How the service is put together: configuration, missing endpoints, runs that must wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from evaluator_support import make_evaluator, queued, teacher_like

from distillery_contracts.evaluations import EvalOutcome
from distillery_evaluator.adapters.chat import CallPolicy, EndpointError, UnconfiguredChatClient
from distillery_evaluator.adapters.fakes import FakeChatClient
from distillery_evaluator.app import build, build_scorers, default_wiring
from distillery_evaluator.config import EvaluatorSettings, load_config
from distillery_evaluator.domain.requests import ModelTarget
from distillery_evaluator.services import RunDeferred
from distillery_runtime.errors import ConfigError
from distillery_runtime.settings import RuntimeSettings


def test_without_an_api_key_calls_fail_at_once_naming_the_variable():
    wiring = default_wiring(EvaluatorSettings(embedding_enabled=False))
    assert isinstance(wiring.models, UnconfiguredChatClient) and wiring.judge is None
    _, skipped = build_scorers(EvaluatorSettings(), wiring, CallPolicy())
    assert skipped == ["LLM judges (no judge endpoint)", "embedding similarity (disabled by configuration)"]


async def test_an_unconfigured_endpoint_is_not_retried():
    client = UnconfiguredChatClient("DISTILLERY_EVALUATOR_OPENAI_API_KEY")
    with pytest.raises(EndpointError, match="set DISTILLERY_EVALUATOR_OPENAI_API_KEY") as caught:
        await client.complete(ModelTarget(model="gpt-4.1"), [])
    assert not caught.value.retryable


def test_bad_configuration_is_one_line_naming_the_variable(monkeypatch):
    monkeypatch.setenv("DISTILLERY_EVALUATOR_GATES__SIMILARITY_FLOOR", "3")
    with pytest.raises(ConfigError, match="DISTILLERY_EVALUATOR_GATES__SIMILARITY_FLOOR"):
        load_config()
    monkeypatch.setenv("DISTILLERY_EVALUATOR_GATES__SIMILARITY_FLOOR", "0.7")
    monkeypatch.setenv("DISTILLERY_EVALUATOR_GOLDEN_SOURCE", "file")
    with pytest.raises(ConfigError, match="golden_source file needs DISTILLERY_EVALUATOR_GOLDEN_PATH"):
        load_config()


def test_the_service_subscribes_to_its_inputs_and_runs_two_workers():
    spec = build(RuntimeSettings(kafka_bootstrap="127.0.0.1:1", database_url="postgresql://x@y/z"),
                 EvaluatorSettings(embedding_enabled=False))
    assert spec.name == "evaluator" and spec.schema == "evaluator"
    assert {s.topic.name.split(".")[1] + "." + s.topic.name.split(".")[2] for s in spec.subscriptions} == {
        "datasets.built", "finetune.jobs", "commands.eval", "routing.table", "rollout.decisions",
        "traces.raw"}
    assert [job.__name__ for job in spec.background] == ["evaluate_runs", "score_live_calls"]


async def test_a_run_whose_dataset_is_not_known_yet_waits_then_errors(repo, request_, tmp_path):
    request = request_.model_copy(update={"dataset_id": "ds-late"})
    evaluator = make_evaluator(repo, FakeChatClient(teacher_like), tmp_path)
    record = await queued(repo, request)

    with pytest.raises(RunDeferred):
        await evaluator.execute(record.__class__(**{**record.__dict__,
                                                    "requested_at": datetime.now(UTC)}))
    old = record.__class__(**{**record.__dict__,
                              "requested_at": datetime.now(UTC) - timedelta(minutes=10)})
    event, _ = await evaluator.execute(old)
    assert event.outcome is EvalOutcome.ERROR and "ds-late is unknown" in event.error_message

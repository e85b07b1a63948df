"""How the service is put together: configuration, missing endpoints, runs that must wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from evaluator_support import make_evaluator, queued, teacher_like

from distillery_contracts.evaluations import EvalOutcome
from distillery_evaluator.adapters.chat import (
    CallPolicy,
    EndpointError,
    OpenAIChatClient,
    UnconfiguredChatClient,
)
from distillery_evaluator.adapters.fakes import FakeChatClient
from distillery_evaluator.app import build, build_scorers, default_wiring
from distillery_evaluator.config import Endpoint, EvaluatorSettings, load_config
from distillery_evaluator.domain.requests import ModelTarget
from distillery_evaluator.services import RunDeferred
from distillery_runtime.errors import ConfigError
from distillery_runtime.settings import RuntimeSettings


def test_without_an_api_key_calls_fail_at_once_naming_the_variable():
    wiring = default_wiring(EvaluatorSettings(embedding_enabled=False))
    assert isinstance(wiring.models, UnconfiguredChatClient) and wiring.judge is None
    _, skipped = build_scorers(EvaluatorSettings(), wiring, CallPolicy())
    assert skipped == ["LLM judges (no judge endpoint)", "embedding similarity (disabled by configuration)"]


def test_by_default_one_endpoint_serves_the_teacher_the_judge_and_every_student():
    wiring = default_wiring(EvaluatorSettings(openai_api_key="sk-test", embedding_enabled=False))
    assert isinstance(wiring.models, OpenAIChatClient)
    assert wiring.teacher is wiring.models and wiring.judge is wiring.models and wiring.students == {}


def test_a_self_hosted_provider_gets_its_own_endpoint_while_teacher_and_judge_stay_hosted(monkeypatch):
    monkeypatch.setenv("DISTILLERY_EVALUATOR_OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("DISTILLERY_EVALUATOR_CANDIDATE_ENDPOINTS",
                       '{"selfhosted": {"kind": "openai", "base_url": "http://student-server:8000/v1"}}')
    config = load_config()
    assert config.candidate_endpoints == {"selfhosted": Endpoint(base_url="http://student-server:8000/v1")}

    wiring = default_wiring(config.model_copy(update={"embedding_enabled": False}))
    assert set(wiring.students) == {"selfhosted"} and wiring.students["selfhosted"] is not wiring.models
    assert wiring.teacher is wiring.models and wiring.judge is wiring.models


def test_the_judge_follows_the_teachers_own_endpoint_unless_given_one(monkeypatch):
    monkeypatch.setenv("DISTILLERY_EVALUATOR_TEACHER_ENDPOINT",
                       '{"kind": "azure", "azure_endpoint": "https://clinic.openai.azure.com", "api_key": "k"}')
    wiring = default_wiring(load_config().model_copy(update={"embedding_enabled": False}))
    assert isinstance(wiring.models, UnconfiguredChatClient), "no default key: students cannot be asked"
    assert isinstance(wiring.teacher, OpenAIChatClient) and wiring.judge is wiring.teacher

    monkeypatch.setenv("DISTILLERY_EVALUATOR_JUDGE_ENDPOINT", '{"api_key": "sk-judge"}')
    wiring = default_wiring(load_config().model_copy(update={"embedding_enabled": False}))
    assert isinstance(wiring.judge, OpenAIChatClient) and wiring.judge is not wiring.teacher


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("CANDIDATE_ENDPOINTS", '{"selfhosted": {"kind": "azure"}}',
     "CANDIDATE_ENDPOINTS__SELFHOSTED: an azure endpoint needs azure_endpoint and api_key"),
    ("CANDIDATE_ENDPOINTS", '{"selfhosted": {"baseurl": "http://x/v1"}}',
     "CANDIDATE_ENDPOINTS__SELFHOSTED__BASEURL: Extra inputs are not permitted"),
    ("TEACHER_ENDPOINT", '{"kind": "openai"}', "TEACHER_ENDPOINT: an openai endpoint needs api_key"),
    ("JUDGE_ENDPOINT", '{"kind": "openai", "azure_endpoint": "https://x"}',
     "JUDGE_ENDPOINT: azure_endpoint is for kind azure"),
    ("TEACHER_ENDPOINT", '{"base_url": ', "TEACHER_ENDPOINT: Expecting value"),
])
def test_a_bad_endpoint_setting_is_one_line_naming_its_variable(monkeypatch, variable, value, says):
    monkeypatch.setenv(f"DISTILLERY_EVALUATOR_{variable}", value)
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert f"DISTILLERY_EVALUATOR_{says}" in str(caught.value) and "\n" not in str(caught.value)


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


def test_the_service_subscribes_to_its_inputs_and_runs_its_workers():
    spec = build(RuntimeSettings(kafka_bootstrap="127.0.0.1:1", database_url="postgresql://x@y/z"),
                 EvaluatorSettings(embedding_enabled=False))
    assert spec.name == "evaluator" and spec.schema == "evaluator"
    assert {s.topic.name.split(".")[1] + "." + s.topic.name.split(".")[2] for s in spec.subscriptions} == {
        "datasets.built", "finetune.jobs", "commands.eval", "routing.table", "rollout.decisions",
        "traces.raw", "commands.privacy"}
    assert [job.__name__ for job in spec.background] == [
        "evaluate_runs", "score_live_calls", "forget_old_calls", "forget_old_run_details"]


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

"""The OpenAI and Azure adapters speak each vendor's dialect, through the real SDK, to a mock HTTP server."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import httpx
import httpx2
import openai
import pytest

from distillery_contracts.finetune import Hyperparameters
from distillery_finetune_controller.adapters.providers.azure_deployments import AzureDeployments
from distillery_finetune_controller.adapters.providers.azure_provider import AzureOpenAIProvider
from distillery_finetune_controller.adapters.providers.openai_compat import OpenAICompatibleProvider
from distillery_finetune_controller.domain.provider_types import JobRequest, ProviderRejected, ProviderUnavailable

REQUEST = JobRequest(job_id="job-ds-1", dataset_id="ds-1", cycle_id="cycle-1", base_model="gpt-4o-mini-2024-07-18",
                     training_file="file-t", validation_file="file-v", suffix="distillery", seed=7,
                     hyperparameters=Hyperparameters(n_epochs=3, batch_size="auto", learning_rate_multiplier=1.8))
JOB = {"id": "ftjob-1", "object": "fine_tuning.job", "status": "validating_files", "model": "gpt-4o-mini-2024-07-18",
       "created_at": 1793000000, "training_file": "file-t", "validation_file": "file-v", "suffix": "distillery"}


class Recorder:
    """A mock server: answers from a list of (status, body, headers) and keeps the requests."""

    def __init__(self, *answers: tuple[int, Any, dict[str, str]]) -> None:
        self.answers = list(answers)
        self.requests: list[Any] = []

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        status, body, headers = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return httpx2.Response(status, json=body, headers=headers)

    def body(self, index: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[index].content)


def openai_provider(server: Recorder, retries: int = 2) -> OpenAICompatibleProvider:
    client = openai.AsyncOpenAI(api_key="sk-test", base_url="https://api.test/v1", max_retries=retries,
                                http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server)))
    return OpenAICompatibleProvider(client, name="openai", account="openai:test")


def azure_provider(server: Recorder) -> AzureOpenAIProvider:
    client = openai.AsyncAzureOpenAI(azure_endpoint="https://aoai.test", api_key="az-key", api_version="2024-10-21",
                                     max_retries=0,
                                     http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server)))
    deployments = AzureDeployments(base_url="https://arm.test", token="t", subscription_id="s", resource_group="g",
                                   account="a", api_version="2024-10-01")
    return AzureOpenAIProvider(client, deployments, account="azure:test")


async def test_openai_jobs_carry_metadata_and_hyperparameters_under_method():
    server = Recorder((200, JOB, {}))
    job = await openai_provider(server).create_job(REQUEST)

    body = server.body()
    assert body["metadata"] == {"distillery_job_id": "job-ds-1", "dataset_id": "ds-1", "cycle_id": "cycle-1"}
    assert body["method"] == {"type": "supervised", "supervised": {"hyperparameters": {
        "n_epochs": 3, "learning_rate_multiplier": 1.8}}}
    assert (body["suffix"], body["seed"], body["validation_file"]) == ("distillery", 7, "file-v")
    assert "hyperparameters" not in body
    assert (job.provider_job_id, job.status.value) == ("ftjob-1", "validating")


async def test_a_failed_create_is_never_retried_by_the_sdk():
    server = Recorder((503, {"error": {"message": "overloaded"}}, {}))
    with pytest.raises(ProviderUnavailable, match="overloaded"):
        await openai_provider(server, retries=2).create_job(REQUEST)
    assert len(server.requests) == 1


async def test_azure_jobs_send_numbers_at_the_top_level_with_api_version_and_api_key():
    server = Recorder((201, {**JOB, "status": "pending"}, {}))
    job = await azure_provider(server).create_job(REQUEST)

    sent = server.requests[-1]
    assert sent.url.params["api-version"] == "2024-10-21"
    assert sent.headers["api-key"] == "az-key"
    assert sent.url.path == "/openai/fine_tuning/jobs"
    assert server.body()["hyperparameters"] == {"n_epochs": 3, "learning_rate_multiplier": 1.8}
    assert "metadata" not in server.body() and "method" not in server.body()
    assert job.status.value == "queued"


@pytest.mark.parametrize(("status", "body", "headers", "kind", "detail"), [
    (400, {"error": {"code": "invalid_training_file", "message": "line 3: not JSON"}}, {}, ProviderRejected,
     "invalid_training_file"),
    (429, {"error": {"code": "insufficient_quota", "message": "You exceeded your quota"}}, {}, ProviderRejected,
     "quota"),
    (429, {"error": {"message": "slow down"}}, {"retry-after": "7"}, ProviderUnavailable, 7.0),
    (500, {"error": {"message": "boom"}}, {}, ProviderUnavailable, None),
])
async def test_provider_errors_are_sorted_into_retryable_and_refused(status, body, headers, kind, detail):
    server = Recorder((status, body, headers))
    with pytest.raises(kind) as caught:
        await openai_provider(server, retries=0).get_job("ftjob-1")
    if kind is ProviderRejected:
        assert caught.value.code == detail
        assert caught.value.message == body["error"]["message"]
    else:
        assert caught.value.retry_after_s == detail


async def test_openai_publishes_shutdown_dates_and_unknown_models_are_none():
    server = Recorder((200, {"id": "gpt-4o-mini", "object": "model", "created": 1, "owned_by": "system",
                             "shutdown_date": "2027-01-14"}, {}))
    info = await openai_provider(server).model_lifecycle("gpt-4o-mini")
    assert info.shutdown_date == date(2027, 1, 14)

    missing = Recorder((404, {"error": {"message": "The model 'x' does not exist"}}, {}))
    assert await openai_provider(missing).model_lifecycle("x") is None


async def test_azure_models_publish_deprecation_dates_and_lifecycle_status():
    fine_tune_end = int(datetime(2027, 1, 6, tzinfo=UTC).timestamp())
    inference_end = int(datetime(2027, 1, 14, tzinfo=UTC).timestamp())
    server = Recorder((200, {"id": "gpt-4o-mini-2024-07-18", "object": "model", "status": "succeeded",
                             "lifecycle_status": "generally-available",
                             "capabilities": {"fine_tune": True, "inference": True, "completion": False,
                                              "chat_completion": True, "embeddings": False},
                             "deprecation": {"fine_tune": fine_tune_end, "inference": inference_end}}, {}))
    info = await azure_provider(server).model_lifecycle("gpt-4o-mini-2024-07-18")

    assert (info.fine_tune_until, info.shutdown_date) == (date(2027, 1, 6), date(2027, 1, 14))
    assert (info.lifecycle_status, info.fine_tunable) == ("generally-available", True)


async def test_finding_a_lost_job_filters_openai_jobs_by_our_metadata():
    tagged = {**JOB, "metadata": {"distillery_job_id": "job-ds-1"}}
    server = Recorder((200, {"object": "list", "data": [tagged], "has_more": False}, {}))
    found = await openai_provider(server).find_job(REQUEST, datetime(2026, 10, 1, tzinfo=UTC), set())

    assert found.provider_job_id == "ftjob-1"
    assert server.requests[-1].url.params["metadata[distillery_job_id]"] == "job-ds-1"


async def test_new_events_stop_at_the_last_one_seen_and_come_oldest_first():
    events = [{"id": f"ev-{n}", "object": "fine_tuning.job.event", "created_at": 1793000000 + n, "level": "info",
               "message": f"event {n}", "type": "message"} for n in (4, 3, 2, 1)]
    server = Recorder((200, {"object": "list", "data": events, "has_more": False}, {}))
    fresh = await openai_provider(server).new_events("ftjob-1", last_seen="ev-2")

    assert [e.event_id for e in fresh] == ["ev-3", "ev-4"]


def arm(handler) -> AzureDeployments:
    return AzureDeployments(base_url="https://management.test", token="arm-token", subscription_id="sub",
                            resource_group="rg", account="acct", api_version="2024-10-01",
                            transport=httpx.MockTransport(handler))


async def test_a_deployment_is_a_put_with_a_bearer_token_then_polled_until_it_succeeds():
    seen: list[httpx.Request] = []
    states = iter(["Accepted", "Creating", "Succeeded"])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"name": "d1", "properties": {"model": {"format": "OpenAI", "name": "ft-model", "version": "1"},
                                             "provisioningState": next(states)}}
        return httpx.Response(201 if request.method == "PUT" else 200, json=body)

    deployments = arm(handler)
    started = await deployments.put("ft-model", "d1")
    polled = [await deployments.get("d1"), await deployments.get("d1")]

    put = seen[0]
    assert put.url.path == ("/subscriptions/sub/resourceGroups/rg/providers/Microsoft.CognitiveServices"
                            "/accounts/acct/deployments/d1")
    assert put.url.params["api-version"] == "2024-10-01"
    assert put.headers["authorization"] == "Bearer arm-token"
    assert json.loads(put.content) == {"sku": {"name": "Standard", "capacity": 1}, "properties": {
        "model": {"format": "OpenAI", "name": "ft-model", "version": "1"}}}
    assert (started.ready, polled[0].ready, polled[1].ready, polled[1].model) == (False, False, True, "ft-model")


async def test_a_missing_deployment_is_none_and_a_refused_one_says_why():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(404, json={"error": {"code": "DeploymentNotFound", "message": "not found"}})
        return httpx.Response(400, json={"error": {"code": "InvalidResourceProperties",
                                                   "message": "The model is not supported"}})

    assert await arm(handler).get("d1") is None
    with pytest.raises(ProviderRejected, match="The model is not supported"):
        await arm(handler).put("ft-model", "d1")


async def test_an_expired_management_token_is_a_credentials_refusal_not_a_passing_outage():
    from distillery_finetune_controller.domain.provider_types import CredentialsRefused

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"code": "ExpiredAuthenticationToken",
                                                   "message": "The access token expiry UTC time is earlier"}})

    with pytest.raises(CredentialsRefused, match="credentials refused \\(HTTP 401\\)"):
        await arm(handler).get("d1")

"""The real `AzureOpenAI` client and Azure's management plane against the sandbox."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import httpx
import openai
import pytest

from distillery_sandbox.openai import JobTimings, simulated_training_file
from distillery_sandbox.openai.catalogue import unix_day
from distillery_sandbox.workload import WorkloadConfig

TRAINING = simulated_training_file(WorkloadConfig(seed=8, calls=40))
ARM_TOKEN = {"Authorization": "Bearer sandbox-arm-token"}


@pytest.fixture(scope="module")
def sandbox_timings() -> JobTimings:
    # Deployments take long enough that a chat sent right after the PUT still finds it
    # provisioning, even on a busy machine.
    return JobTimings(validating=0.1, queued=0.05, running=0.5, file_processing=0.15,
                      deployment=1.0)


@pytest.fixture(scope="module")
def http():
    with httpx.Client() as client:
        yield client


@pytest.fixture(scope="module")
def azure(sandbox):
    return openai.AzureOpenAI(azure_endpoint=sandbox.url, api_key="azure-sandbox-key",
                              api_version="2024-10-21", max_retries=0)


def deployment_url(sandbox, name: str, account: str = "distillery-aoai") -> str:
    return (f"{sandbox.url}/subscriptions/sub-1/resourceGroups/rg-distillery/providers/"
            f"Microsoft.CognitiveServices/accounts/{account}/deployments/{name}"
            "?api-version=2024-10-01")


def deploy(http: httpx.Client, sandbox, name: str, model: str) -> httpx.Response:
    body = {"sku": {"name": "Standard", "capacity": 1},
            "properties": {"model": {"format": "OpenAI", "name": model, "version": "1"}}}
    return http.put(deployment_url(sandbox, name), json=body, headers=ARM_TOKEN)


def wait_for(azure: openai.AzureOpenAI, job_id: str, *states: str):
    deadline = time.monotonic() + 15
    job = azure.fine_tuning.jobs.retrieve(job_id)
    while job.status not in states:
        assert time.monotonic() < deadline, f"job stuck in {job.status}"
        time.sleep(0.05)
        job = azure.fine_tuning.jobs.retrieve(job_id)
    return job


def upload(azure: openai.AzureOpenAI):
    raw = azure.files.with_raw_response.create(file=("train.jsonl", io.BytesIO(TRAINING)),
                                                purpose="fine-tune")
    return raw.status_code, raw.parse()


def ask(azure: openai.AzureOpenAI, deployment: str, question: str):
    return azure.chat.completions.create(model=deployment,
                                         messages=[{"role": "user", "content": question}])


def test_a_fine_tune_serves_chats_only_once_its_deployment_has_succeeded(sandbox, azure, http):
    status, file = upload(azure)
    assert (status, file.status) == (201, "pending")
    raw = azure.fine_tuning.jobs.with_raw_response.create(
        model="gpt-4o-mini-2024-07-18", training_file=file.id, suffix="clinic")
    job = raw.parse()
    assert raw.status_code == 201 and raw.headers["location"].endswith(f"/fine_tuning/jobs/{job.id}")
    assert job.status in ("created", "pending")
    job = wait_for(azure, job.id, "succeeded")
    assert job.fine_tuned_model == f"gpt-4o-mini-2024-07-18.ft-{job.id[6:]}-clinic"
    assert isinstance(job.hyperparameters.n_epochs, int)
    with pytest.raises(openai.NotFoundError) as missing:
        ask(azure, "clinic-student", "When are you open on Saturday?")
    assert missing.value.body["code"] == "DeploymentNotFound"
    created = deploy(http, sandbox, "clinic-student", job.fine_tuned_model)
    assert created.status_code == 201
    assert created.json()["properties"]["provisioningState"] == "Accepted"
    with pytest.raises(openai.NotFoundError):
        ask(azure, "clinic-student", "When are you open on Saturday?")
    deadline = time.monotonic() + 5
    while http.get(deployment_url(sandbox, "clinic-student"), headers=ARM_TOKEN).json()[
            "properties"]["provisioningState"] != "Succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    reply = ask(azure, "clinic-student", "When are you open on Saturday?")
    assert reply.model == job.fine_tuned_model
    assert "09:00" in reply.choices[0].message.content
    assert http.delete(deployment_url(sandbox, "clinic-student"), headers=ARM_TOKEN).status_code == 200
    with pytest.raises(openai.NotFoundError):
        ask(azure, "clinic-student", "Hello?")


def test_the_teacher_deployment_is_ready_from_the_start(azure):
    reply = ask(azure, "gpt-4.1", "How much is a flu jab?")
    assert "€30" in reply.choices[0].message.content
    assert reply.model == "gpt-4.1-2025-04-14"


def test_azure_trains_one_job_at_a_time(azure):
    _, file = upload(azure)
    jobs = [azure.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file.id).id
            for _ in range(2)]
    deadline = time.monotonic() + 15
    while True:
        statuses = {j.id: j.status for j in azure.fine_tuning.jobs.list(limit=100).data
                    if j.id in jobs}
        assert list(statuses.values()).count("running") <= 1, statuses
        if set(statuses.values()) == {"succeeded"}:
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(0.03)

    def span(job_id: str) -> tuple[int, int]:
        events = {e.message: e.created_at
                  for e in azure.fine_tuning.jobs.list_events(job_id, limit=100).data}
        return events["Fine-tuning job started"], events["The job has successfully completed"]

    earlier, later = sorted(span(job_id) for job_id in jobs)
    assert later[0] >= earlier[1]


def test_a_deleted_job_is_gone(sandbox, azure, http):
    _, file = upload(azure)
    job = azure.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file.id)
    url = f"{sandbox.url}/openai/fine_tuning/jobs/{job.id}"
    params = {"api-version": "2024-10-21"}
    assert http.delete(url, params=params, headers={"api-key": "azure-sandbox-key"}).status_code == 204
    with pytest.raises(openai.NotFoundError):
        azure.fine_tuning.jobs.retrieve(job.id)


def test_a_request_without_api_version_gets_azures_400(sandbox, http):
    answer = http.get(f"{sandbox.url}/openai/models", headers={"api-key": "azure-sandbox-key"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalidPayload"
    assert "api-version" in answer.json()["error"]["message"]


def test_a_wrong_api_key_is_refused(sandbox):
    stranger = openai.AzureOpenAI(azure_endpoint=sandbox.url, api_key="nope",
                                  api_version="2024-10-21", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        stranger.models.list()
    assert refused.value.body["code"] == "unauthorized"


def test_the_management_plane_wants_a_token_and_an_api_version(sandbox, http):
    without_token = http.get(deployment_url(sandbox, "gpt-4.1"))
    assert without_token.status_code == 401
    assert without_token.json()["error"]["code"] == "InvalidAuthenticationToken"
    unversioned = http.get(deployment_url(sandbox, "gpt-4.1").split("?")[0], headers=ARM_TOKEN)
    assert unversioned.json()["error"]["code"] == "MissingApiVersionParameter"
    elsewhere = http.get(deployment_url(sandbox, "gpt-4.1", account="other"), headers=ARM_TOKEN)
    assert elsewhere.status_code == 404


def test_deploying_a_model_the_resource_does_not_have_is_refused(sandbox, http):
    refused = deploy(http, sandbox, "ghost", "gpt-4o-mini-2024-07-18.ft-doesnotexist")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "DeploymentModelNotSupported"


def test_models_carry_their_fine_tuning_and_inference_deprecation_dates(azure):
    models = {m.id: m.model_dump() for m in azure.models.list()}
    mini = models["gpt-4o-mini-2024-07-18"]
    today = datetime.now(UTC).date()  # a sandbox rehearses the deadlines 30 and 38 days ahead of its day
    assert mini["deprecation"] == {"fine_tune": unix_day(today + timedelta(days=30)),
                                   "inference": unix_day(today + timedelta(days=38))}
    assert mini["lifecycle_status"] == "generally-available"
    assert mini["capabilities"]["fine_tune"] is True

"""Every response shape the sandbox serves validates against the vendors' own documents:
OpenAI's OpenAPI 3.1 subset, Azure OpenAI's Swagger 2.0 authoring spec, and the
management plane's PutDeployment example."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml
from openapi_schema_validator import OAS31Validator

from distillery_sandbox.openai import JobTimings, simulated_training_file
from distillery_sandbox.workload import WorkloadConfig, default_knowledge_base, tool_definitions


def specs_dir() -> Path:
    configured = os.environ.get("DISTILLERY_SPECS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "shared" / "specs"


SPECS = specs_dir()
OPENAI_DOC = yaml.safe_load((SPECS / "openai-finetune-subset.yml").read_text())
AZURE_DOC = json.loads((SPECS / "azure-openai-authoring-2024-10-21.json").read_text())
PUT_EXAMPLE = json.loads((SPECS / "azure-examples" / "PutDeployment.json").read_text())
TRAINING = simulated_training_file(WorkloadConfig(seed=4, calls=20))
OPENAI = {"Authorization": "Bearer sk-sandbox"}
AZURE = {"api-key": "azure-sandbox-key"}
ARM = {"Authorization": "Bearer sandbox-arm-token"}
V = {"api-version": "2024-10-21"}


def _unless_null(keyword: str):
    """OpenAI's document mixes OpenAPI 3.1 (`type: 'null'`) with 3.0's `nullable: true`
    (e.g. a stream chunk's finish_reason); honour both, as OpenAI's own SDK does."""
    check = OAS31Validator.VALIDATORS[keyword]

    def validate(validator, value, instance, schema):
        if instance is None and schema.get("nullable") is True:
            return
        yield from check(validator, value, instance, schema)

    return validate


OpenAIValidator = jsonschema.validators.extend(
    OAS31Validator, {"type": _unless_null("type"), "enum": _unless_null("enum")})


def openai_errors(name: str, instance: object) -> list[str]:
    schema = {"$ref": f"#/components/schemas/{name}", "components": OPENAI_DOC["components"]}
    return [e.message for e in OpenAIValidator(schema).iter_errors(instance)]


def azure_errors(name: str, instance: object) -> list[str]:
    schema = {"$ref": f"#/definitions/{name}", "definitions": AZURE_DOC["definitions"]}
    return [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(instance)]


@pytest.fixture(scope="module")
def sandbox_timings() -> JobTimings:
    # Deployments provision within the 0.15 s the deployment test waits.
    return JobTimings(validating=0.05, queued=0.05, running=0.3, file_processing=0.05,
                      deployment=0.1)


@pytest.fixture(scope="module")
def served(sandbox):
    """The sandbox with a succeeded job in each flavour, and an HTTP client."""
    with httpx.Client(base_url=sandbox.url) as http:
        jobs = {"openai": _finished_job(http, "/v1", OPENAI, {}),
                "azure": _finished_job(http, "/openai", AZURE, V)}
        yield http, jobs


def _finished_job(http: httpx.Client, prefix: str, headers: dict, params: dict) -> dict:
    upload = http.post(f"{prefix}/files", headers=headers, params=params,
                       files={"file": ("train.jsonl", TRAINING)}, data={"purpose": "fine-tune"})
    job = http.post(f"{prefix}/fine_tuning/jobs", headers=headers, params=params,
                    json={"model": "gpt-4o-mini-2024-07-18", "training_file": upload.json()["id"],
                          "metadata": {"dataset_id": "ds-1"}}).json()
    deadline = time.monotonic() + 10
    while job["status"] != "succeeded":
        assert time.monotonic() < deadline and job["status"] != "failed", job
        time.sleep(0.05)
        job = http.get(f"{prefix}/fine_tuning/jobs/{job['id']}", headers=headers,
                       params=params).json()
    return job


OPENAI_RESPONSES = [
    ("GET", "/v1/files", "ListFilesResponse"),
    ("GET", "/v1/files/{training_file}", "OpenAIFile"),
    ("GET", "/v1/fine_tuning/jobs", "ListPaginatedFineTuningJobsResponse"),
    ("GET", "/v1/fine_tuning/jobs/{id}", "FineTuningJob"),
    ("GET", "/v1/fine_tuning/jobs/{id}/events", "ListFineTuningJobEventsResponse"),
    ("GET", "/v1/fine_tuning/jobs/{id}/checkpoints", "ListFineTuningJobCheckpointsResponse"),
    ("GET", "/v1/models", "ListModelsResponse"),
    ("GET", "/v1/models/gpt-4o-mini", "Model"),
    ("GET", "/v1/models/{fine_tuned_model}", "Model"),
    ("GET", "/v1/fine_tuning/jobs/ftjob-missing", "ErrorResponse"),
]

AZURE_RESPONSES = [
    ("GET", "/openai/files", "FileList"),
    ("GET", "/openai/files/{training_file}", "File"),
    ("GET", "/openai/fine_tuning/jobs", "FineTuningJobList"),
    ("GET", "/openai/fine_tuning/jobs/{id}", "FineTuningJob"),
    ("GET", "/openai/fine_tuning/jobs/{id}/events", "FineTuningJobEventList"),
    ("GET", "/openai/fine_tuning/jobs/{id}/checkpoints", "FineTuningJobCheckpointList"),
    ("GET", "/openai/models", "ModelList"),
    ("GET", "/openai/models/gpt-4o-mini-2024-07-18", "Model"),
    ("GET", "/openai/models/{fine_tuned_model}", "Model"),
    ("GET", "/openai/fine_tuning/jobs/ftjob-missing", "ErrorResponse"),
]


@pytest.mark.parametrize(("method", "path", "schema"), OPENAI_RESPONSES)
def test_openai_flavour_responses_match_openais_schemas(served, method, path, schema):
    http, jobs = served
    answer = http.request(method, path.format(**jobs["openai"]), headers=OPENAI)
    assert openai_errors(schema, answer.json()) == []


@pytest.mark.parametrize(("method", "path", "schema"), AZURE_RESPONSES)
def test_azure_flavour_responses_match_azures_schemas(served, method, path, schema):
    http, jobs = served
    answer = http.request(method, path.format(**jobs["azure"]), headers=AZURE, params=V)
    assert azure_errors(schema, answer.json()) == []


def test_created_files_and_jobs_match_the_schemas_in_both_flavours(served):
    http, _ = served
    file = http.post("/v1/files", headers=OPENAI, files={"file": ("t.jsonl", TRAINING)},
                     data={"purpose": "fine-tune"}).json()
    job = http.post("/v1/fine_tuning/jobs", headers=OPENAI,
                    json={"model": "gpt-4o-mini", "training_file": file["id"]}).json()
    assert openai_errors("OpenAIFile", file) == [] and openai_errors("FineTuningJob", job) == []
    cancelled = http.post(f"/v1/fine_tuning/jobs/{job['id']}/cancel", headers=OPENAI).json()
    assert openai_errors("FineTuningJob", cancelled) == []
    deleted = http.delete(f"/v1/files/{file['id']}", headers=OPENAI).json()
    assert openai_errors("DeleteFileResponse", deleted) == []
    file = http.post("/openai/files", headers=AZURE, params=V,
                     files={"file": ("t.jsonl", TRAINING)}, data={"purpose": "fine-tune"}).json()
    job = http.post("/openai/fine_tuning/jobs", headers=AZURE, params=V,
                    json={"model": "gpt-4o-mini-2024-07-18", "training_file": file["id"]}).json()
    assert azure_errors("File", file) == [] and azure_errors("FineTuningJob", job) == []
    assert azure_errors("FileDelete", http.delete(f"/openai/files/{file['id']}", headers=AZURE,
                                                  params=V).json()) == []


def test_chat_completions_match_openais_schema_whole_and_streamed(served):
    http, jobs = served
    tools = tool_definitions(default_knowledge_base())
    for message in ("Can I book a blood test on Tuesday?", "Where are you?"):
        body = {"model": "gpt-4.1", "tools": tools,
                "messages": [{"role": "user", "content": message}]}
        whole = http.post("/v1/chat/completions", headers=OPENAI, json=body).json()
        assert openai_errors("CreateChatCompletionResponse", whole) == []
        azure = http.post("/openai/deployments/gpt-4.1/chat/completions", headers=AZURE,
                          params=V, json=body).json()
        assert openai_errors("CreateChatCompletionResponse", azure) == []
        streamed = http.post("/v1/chat/completions", headers=OPENAI, json={
            **body, "stream": True, "stream_options": {"include_usage": True}}).text
        chunks = [json.loads(line[6:]) for line in streamed.splitlines()
                  if line.startswith("data: {")]
        assert all(openai_errors("CreateChatCompletionStreamResponse", c) == [] for c in chunks)


def test_azure_errors_match_azures_error_schema(served):
    http, _ = served
    unversioned = http.get("/openai/models", headers=AZURE)
    assert unversioned.status_code == 400
    assert azure_errors("ErrorResponse", unversioned.json()) == []
    unauthorised = http.get("/openai/models", params=V)
    assert unauthorised.status_code == 401
    assert azure_errors("ErrorResponse", unauthorised.json()) == []


def test_deployments_answer_in_the_shape_of_the_put_deployment_example(served):
    http, jobs = served
    url = ("/subscriptions/subscriptionId/resourceGroups/resourceGroupName/providers/"
           "Microsoft.CognitiveServices/accounts/distillery-aoai/deployments/deploymentName")
    request = PUT_EXAMPLE["parameters"]["deployment"]
    body = {**request, "properties": {"model": {**request["properties"]["model"],
                                                "name": jobs["azure"]["fine_tuned_model"]}}}
    created = http.put(url, headers=ARM, params={"api-version": "2024-10-01"}, json=body)
    expected = PUT_EXAMPLE["responses"]["201"]["body"]
    assert created.status_code == 201
    assert _shape(created.json()) == _shape(expected)
    assert created.json()["id"] == expected["id"].replace("accountName", "distillery-aoai")
    assert created.json()["properties"]["provisioningState"] == "Accepted"
    time.sleep(0.15)
    ready = http.get(url, headers=ARM, params={"api-version": "2024-10-01"}).json()
    assert _shape(ready) == _shape(PUT_EXAMPLE["responses"]["200"]["body"])
    assert ready["properties"]["provisioningState"] == "Succeeded"


def test_the_schema_checks_catch_a_response_that_breaks_them(served):
    """Guard against validators that accept anything: Azure's status words are not
    OpenAI's, and OpenAI's nulls are not allowed in Azure's job."""
    _, jobs = served
    broken = {**jobs["openai"], "status": "pending"}
    assert openai_errors("FineTuningJob", broken)
    assert azure_errors("FineTuningJob", {**jobs["azure"], "finished_at": None})
    assert azure_errors("ErrorResponse", {"error": {"code": "model_not_found", "message": "x"}})
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {}, "finish_reason": "done", "logprobs": None}]}
    assert openai_errors("CreateChatCompletionStreamResponse", chunk)


def _shape(value: object) -> object:
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return type(value).__name__

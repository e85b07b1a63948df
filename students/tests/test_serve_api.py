"""The HTTP layer of distillery serve on a fake engine: vLLM's request and response shapes."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from distillery_students.base_models import BaseModel
from distillery_students.domain.model_card import (AdapterRef, BaseModelRef, DatasetRef, ModelCard,
                                                   job_fingerprint)
from distillery_students.domain.settings import TrainingSettings
from distillery_students.serving.app import create_app
from distillery_students.serving.fakes import FakeStudentEngine

BASE = BaseModel("smollm2-135m", Path("/cache/smollm2"), "a" * 64)


def write_adapter(directory: Path, base_sha: str = "a" * 64, base_name: str = "smollm2-135m") -> Path:
    directory.mkdir(parents=True)
    (directory / "adapter_config.json").write_text("{}")
    settings = TrainingSettings(base_model=base_name)
    card = ModelCard(job=job_fingerprint(base_sha, "d" * 64, settings),
                     base_model=BaseModelRef(name=base_name, sha256=base_sha),
                     dataset=DatasetRef(sha256="d" * 64, examples=1, tokens=10, learned_tokens=3),
                     hyperparameters=settings, adapter=AdapterRef(sha256="e" * 64, bytes=1), loss_curve=[],
                     steps=1, epochs=1, train_seconds=1, device="cpu", created_at=datetime.now(timezone.utc))
    (directory / "model_card.json").write_text(card.model_dump_json())
    return directory


@pytest.fixture
def engine() -> FakeStudentEngine:
    return FakeStudentEngine(BASE, replies={
        "student-1": 'Booking it.\n<tool_call>\n{"name": "book", "arguments": {"day": "Monday"}}\n</tool_call>'})


@pytest.fixture
def client(engine: FakeStudentEngine) -> TestClient:
    return TestClient(create_app(engine))


def chat(client: TestClient, model: str, **extra) -> dict:
    response = client.post("/v1/chat/completions", json={
        "model": model, "messages": [{"role": "user", "content": "Book Monday"}], **extra})
    return {"status": response.status_code, **response.json()}


def test_loads_an_adapter_with_vllms_body_and_lists_it(client, tmp_path):
    adapter = write_adapter(tmp_path / "a1")
    response = client.post("/v1/load_lora_adapter", json={"lora_name": "student-1", "lora_path": str(adapter)})

    assert (response.status_code, response.text) == (200, "Success: LoRA adapter 'student-1' added successfully.")
    models = client.get("/v1/models").json()["data"]
    assert [(m["id"], m["parent"]) for m in models] == [("smollm2-135m", None), ("student-1", "smollm2-135m")]


def test_refuses_an_adapter_trained_on_another_base(client, tmp_path):
    adapter = write_adapter(tmp_path / "a1", base_sha="b" * 64, base_name="/models/qwen-0.5b")
    response = client.post("/v1/load_lora_adapter", json={"lora_name": "student-1", "lora_path": str(adapter)})

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "adapter student-1 was trained on /models/qwen-0.5b (sha256 bbbbbbbbbbbb), not on the served base "
        "smollm2-135m (sha256 aaaaaaaaaaaa)")
    assert [m["id"] for m in client.get("/v1/models").json()["data"]] == ["smollm2-135m"]


def test_refuses_a_directory_without_a_model_card_and_a_second_load_of_a_name(client, tmp_path):
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "adapter_config.json").write_text("{}")
    bare = client.post("/v1/load_lora_adapter", json={"lora_name": "x", "lora_path": str(tmp_path / "bare")})
    assert bare.status_code == 400 and "has no model_card.json" in bare.json()["error"]["message"]

    adapter = write_adapter(tmp_path / "a1")
    assert client.post("/v1/load_lora_adapter", json={"lora_name": "s", "lora_path": str(adapter)}).status_code == 200
    again = client.post("/v1/load_lora_adapter", json={"lora_name": "s", "lora_path": str(adapter)})
    assert again.status_code == 400 and "already been loaded" in again.json()["error"]["message"]
    inplace = client.post("/v1/load_lora_adapter", json={"lora_name": "s", "lora_path": str(adapter),
                                                         "load_inplace": True})
    assert inplace.status_code == 200


def test_unloads_an_adapter_and_then_it_is_gone(client, tmp_path):
    client.post("/v1/load_lora_adapter", json={"lora_name": "student-1", "lora_path": str(write_adapter(tmp_path / "a"))})
    response = client.post("/v1/unload_lora_adapter", json={"lora_name": "student-1"})

    assert (response.status_code, response.text) == (200, "Success: LoRA adapter 'student-1' removed successfully.")
    assert chat(client, "student-1")["status"] == 404
    missing = client.post("/v1/unload_lora_adapter", json={"lora_name": "student-1"})
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "NotFoundError"


def test_answers_the_base_model_by_its_name_with_usage(client, engine):
    body = chat(client, "smollm2-135m", temperature=0, max_tokens=16)

    assert body["status"] == 200 and body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "answer from smollm2-135m"}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    assert engine.calls[-1]["max_tokens"] == 16 and engine.calls[-1]["temperature"] == 0


def test_returns_tool_calls_when_the_request_has_tools(client, tmp_path, engine):
    client.post("/v1/load_lora_adapter", json={"lora_name": "student-1", "lora_path": str(write_adapter(tmp_path / "a"))})
    tools = [{"type": "function", "function": {"name": "book", "parameters": {"type": "object"}}}]
    body = chat(client, "student-1", tools=tools)

    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Booking it."
    call = choice["message"]["tool_calls"][0]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert (call["function"]["name"], json.loads(call["function"]["arguments"])) == ("book", {"day": "Monday"})
    assert "<tools>" in engine.calls[-1]["prompt"]


def test_without_tools_a_tool_call_tag_is_plain_text(client, tmp_path):
    client.post("/v1/load_lora_adapter", json={"lora_name": "student-1", "lora_path": str(write_adapter(tmp_path / "a"))})
    message = chat(client, "student-1")["choices"][0]["message"]
    assert "tool_calls" not in message and "<tool_call>" in message["content"]


@pytest.mark.parametrize(("extra", "status", "fragment"), [
    ({"model": "nope"}, 404, "The model `nope` does not exist."),
    ({"stream": True}, 400, "stream is not supported"),
    ({"messages": [{"role": "narrator", "content": "x"}]}, 400, 'message 1 has role "narrator"'),
    ({"temperature": 5}, 400, "invalid request: temperature"),
])
def test_bad_requests_get_openai_errors(client, extra, status, fragment):
    payload = {"model": "smollm2-135m", "messages": [{"role": "user", "content": "hi"}], **extra}
    response = client.post("/v1/chat/completions", json=payload)
    assert response.status_code == status
    assert fragment in response.json()["error"]["message"]

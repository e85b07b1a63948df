"""The self-hosted provider against a mock trainer (through the openai SDK) and a mock serving
engine that answers as vLLM's LoRA endpoints do."""

from __future__ import annotations

import json
from typing import Any

import httpx
import httpx2
import openai
import pytest

from distillery_finetune_controller.adapters.providers.selfhosted_provider import SelfHostedProvider
from distillery_finetune_controller.adapters.providers.serving_engine import ServingEngine
from distillery_finetune_controller.config import FinetuneSettings
from distillery_finetune_controller.domain.provider_types import ProviderUnavailable

BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"
MODEL = f"ft:{BASE}:distillery:ftjob-7"


class Engine:
    """vLLM's /v1/models, /v1/load_lora_adapter and /v1/unload_lora_adapter, in memory."""

    def __init__(self, refuse: dict[str, str] | None = None) -> None:
        self.loaded: dict[str, str] = {}
        self.refuse = refuse or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = json.loads(request.content) if request.content else {}
        if request.url.path == "/v1/models":
            data = [{"id": BASE, "object": "model", "root": "/models/smollm2", "parent": None}]
            data += [{"id": name, "object": "model", "root": root, "parent": BASE} for name, root in self.loaded.items()]
            return httpx.Response(200, json={"object": "list", "data": data})
        if request.url.path == "/v1/load_lora_adapter":
            if body["lora_path"] in self.refuse:
                return httpx.Response(400, json={"error": {"message": self.refuse[body["lora_path"]],
                                                           "type": "InvalidUserInput", "code": 400}})
            self.loaded[body["lora_name"]] = body["lora_path"]
            return httpx.Response(200, text=f"Success: LoRA adapter '{body['lora_name']}' added successfully.")
        if request.url.path == "/v1/unload_lora_adapter":
            if self.loaded.pop(body["lora_name"], None) is None:
                return httpx.Response(404, json={"error": {"message": "cannot be found", "code": 404}})
            return httpx.Response(200, text="Success")
        return httpx.Response(404)


def trainer(answer: tuple[int, Any], seen: list[Any] | None = None) -> openai.AsyncOpenAI:
    def handle(request: Any) -> Any:
        if seen is not None:
            seen.append(request)
        return httpx2.Response(answer[0], json=answer[1])

    return openai.AsyncOpenAI(api_key="tk", base_url="http://trainer:8090/v1", max_retries=0,
                              http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handle)))


def provider(engine: Any, answer: tuple[int, Any] = (200, {}), seen: list[Any] | None = None) -> SelfHostedProvider:
    serving = ServingEngine(base_url="http://student:8000/v1", api_key="sk-serve", transport=httpx.MockTransport(engine))
    return SelfHostedProvider(trainer(answer, seen), serving, account="selfhosted:test", adapter_root="/srv/adapters/")


async def test_deploying_loads_the_published_adapter_under_the_model_name_and_is_ready_once_listed():
    engine = Engine()
    deployment = await provider(engine).deploy(MODEL, MODEL)

    load = engine.requests[0]
    assert (load.method, load.url.path) == ("POST", "/v1/load_lora_adapter")
    assert json.loads(load.content) == {"lora_name": MODEL, "lora_path": "/srv/adapters/ftjob-7"}
    assert load.headers["authorization"] == "Bearer sk-serve"
    assert engine.requests[1].url.path == "/v1/models"
    assert (deployment.ready, deployment.model) == (True, MODEL)


async def test_an_adapter_not_loaded_is_no_deployment_and_one_from_another_path_serves_something_else():
    engine = Engine()
    assert await provider(engine).get_deployment(MODEL) is None

    engine.loaded[MODEL] = "/elsewhere/ftjob-7"
    other = await provider(engine).get_deployment(MODEL)
    assert other.model == "the adapter at /elsewhere/ftjob-7"


async def test_an_adapter_the_engine_refuses_is_a_failed_deployment_with_the_engines_words():
    engine = Engine(refuse={"/srv/adapters/ftjob-7": "adapter trained on Qwen/Qwen2.5-0.5B, this engine serves "
                                                     f"{BASE}"})
    deployment = await provider(engine).deploy(MODEL, MODEL)

    assert deployment.failed and not deployment.ready
    assert deployment.detail == ("the serving engine refused the adapter at /srv/adapters/ftjob-7: adapter trained "
                                 f"on Qwen/Qwen2.5-0.5B, this engine serves {BASE}")


@pytest.mark.parametrize("failure", [httpx.ConnectError("connection refused"), httpx.Response(503, text="busy")])
async def test_an_unreachable_or_failing_engine_may_pass(failure):
    def engine(request: httpx.Request) -> httpx.Response:
        if isinstance(failure, Exception):
            raise failure
        return failure

    with pytest.raises(ProviderUnavailable):
        await provider(engine).deploy(MODEL, MODEL)
    with pytest.raises(ProviderUnavailable):
        await provider(engine).undeploy(MODEL)


async def test_undeploying_unloads_the_adapter_and_an_adapter_already_gone_is_done_too():
    engine = Engine()
    engine.loaded[MODEL] = "/srv/adapters/ftjob-7"
    hosted = provider(engine)

    assert await hosted.undeploy(MODEL) is True
    assert await hosted.undeploy(MODEL) is True  # 404: not loaded any more
    unloads = [json.loads(r.content) for r in engine.requests if r.url.path == "/v1/unload_lora_adapter"]
    assert unloads == [{"lora_name": MODEL}, {"lora_name": MODEL}]
    assert engine.loaded == {}


async def test_the_trainers_base_models_have_no_shutdown_and_an_unknown_one_is_none():
    seen: list[Any] = []
    known = provider(Engine(), (200, {"id": BASE, "object": "model", "created": 1, "owned_by": "distillery-trainer"}),
                     seen)
    info = await known.model_lifecycle(BASE)
    assert (info.shutdown_date, info.fine_tune_until, info.source) == (None, None, "self-hosted trainer")
    assert seen[0].url.raw_path == b"/v1/models/HuggingFaceTB%2FSmolLM2-135M-Instruct"
    assert seen[0].headers["authorization"] == "Bearer tk"

    unknown = provider(Engine(), (404, {"error": {"message": "no such base model"}}))
    assert await unknown.model_lifecycle("/srv/models/missing") is None
    assert unknown.label == ("the self-hosted trainer at http://trainer:8090/v1 (its GET /v1/models lists the base "
                             "models it can train)")


async def test_the_settings_make_a_provider_of_the_self_hosted_account():
    settings = FinetuneSettings(provider="selfhosted", selfhosted_trainer_url="http://trainer:8090/v1/",
                                selfhosted_serving_url="http://student:8000/v1", selfhosted_adapter_root="/srv/a")
    hosted = SelfHostedProvider.from_settings(settings)

    assert (hosted.name, hosted.account, hosted.adapter_path(MODEL)) == (
        "selfhosted", "selfhosted:http://trainer:8090/v1", "/srv/a/ftjob-7")
    assert hosted.needs_deployment and hosted.deploys_under_model_name
    await hosted.close()

"""The chat wrapper with fake model endpoints and a fake recorder: arm choice, metadata, fallback."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletion

from distillery_router import RouteTable, Router
from distillery_router.client import (
    AbstractGenerationRecorder,
    GenerationRecord,
    ProviderEndpoint,
    RoutedChatClient,
)

MESSAGES = [{"role": "user", "content": "Are you open on Saturday?"}]


def completion(model: str) -> ChatCompletion:
    return ChatCompletion.model_validate({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": f"answer from {model}"}}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}})


def server_error() -> openai.InternalServerError:
    request = httpx2.Request("POST", "https://student.example/v1/chat/completions")
    return openai.InternalServerError("upstream timeout", response=httpx2.Response(500, request=request),
                                      body=None)


class FakeChatEndpoint:
    """One provider's ``chat.completions``: answers, or fails for the models told to."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failing: dict[str, BaseException] = {}
        self.hang: set[str] = set()
        self.chat = self
        self.completions = self

    async def create(self, **request: Any) -> ChatCompletion:
        self.requests.append(request)
        if request["model"] in self.hang:
            await asyncio.sleep(60)
        if request["model"] in self.failing:
            raise self.failing[request["model"]]
        return completion(request["model"])


@dataclass
class FakeGeneration(GenerationRecord):
    start: dict[str, Any]
    outcome: str = "open"
    output: Any = None

    def succeed(self, completion: Any) -> None:
        self.outcome, self.output = "succeeded", completion.choices[0].message.content

    def fail(self, error: BaseException) -> None:
        self.outcome, self.output = "failed", repr(error)

    def cancel(self) -> None:
        self.outcome = "cancelled"


@dataclass
class FakeGenerationRecorder(AbstractGenerationRecorder):
    generations: list[FakeGeneration] = field(default_factory=list)

    def start(self, **start: Any) -> GenerationRecord:
        self.generations.append(FakeGeneration(start))
        return self.generations[-1]


@pytest.fixture
def endpoints() -> dict[str, FakeChatEndpoint]:
    return {"openai": FakeChatEndpoint(), "azure": FakeChatEndpoint()}


@pytest.fixture
def recorder() -> FakeGenerationRecorder:
    return FakeGenerationRecorder()


def chat_client(table: RouteTable, endpoints: dict[str, FakeChatEndpoint], recorder: FakeGenerationRecorder,
                providers: tuple[str, ...] = ("openai", "azure")) -> RoutedChatClient:
    configured = {name: ProviderEndpoint(kind=name, api_key=name) for name in providers}  # type: ignore[arg-type]
    by_key = {name: endpoints[name] for name in providers}
    return RoutedChatClient(Router([table]), configured, recorder,
                            client_factory=lambda endpoint: by_key[endpoint.api_key])


async def test_each_call_goes_to_the_model_of_the_arm_its_call_id_is_routed_to(table_of, endpoints, recorder):
    table = table_of(version=4, candidate=50, teacher=50)
    chat = chat_client(table, endpoints, recorder)
    router = Router([table])

    results = [await chat.create(call_id=f"call-{i}", messages=MESSAGES) for i in range(40)]

    for i, result in enumerate(results):
        expected = router.choose("voice-agent", f"call-{i}")
        assert result.arm == result.chosen == expected
        assert endpoints["openai"].requests[i]["model"] == expected.model
    assert {r.arm.name for r in results} == {"candidate", "teacher"}


async def test_generation_carries_arm_rollout_stage_and_call_id_with_the_call_as_session(
        table_of, endpoints, recorder):
    chat = chat_client(table_of(version=4, candidate=25, teacher=75), endpoints, recorder)

    result = await chat.create(call_id="call-7f3a", messages=MESSAGES, max_tokens=300, temperature=0.2)

    [generation] = recorder.generations
    assert generation.start["call_id"] == "call-7f3a" and generation.start["name"] == "voice-agent"
    assert generation.start["metadata"] == {"arm": result.arm.name, "arm_weight": result.arm.weight,
                                            "call_id": "call-7f3a",
                                            "provider": "openai", "route_version": 4,
                                            "rollout_id": "ro-1", "stage": 1}
    assert generation.start["model"] == result.arm.model
    assert generation.start["parameters"] == {"max_tokens": 300, "temperature": 0.2}
    assert (generation.outcome, generation.output) == ("succeeded", f"answer from {result.arm.model}")


async def test_failing_student_is_answered_by_the_teacher_and_both_generations_are_recorded(
        table_of, endpoints, recorder):
    table = table_of(candidate=90, teacher=10)
    endpoints["openai"].failing[table.arm("candidate").model] = server_error()
    chat = chat_client(table, endpoints, recorder)
    call_id = next(f"call-{i}" for i in range(100)
                   if Router([table]).choose("voice-agent", f"call-{i}").name == "candidate")

    result = await chat.create(call_id=call_id, messages=MESSAGES)

    assert result.fell_back and result.arm.name == "teacher" and result.chosen.name == "candidate"
    assert "InternalServerError: upstream timeout" in result.fallback_error
    failed, answered = recorder.generations
    assert (failed.start["metadata"]["arm"], failed.outcome) == ("candidate", "failed")
    assert answered.start["metadata"]["arm"] == "teacher" and answered.outcome == "succeeded"
    assert answered.start["metadata"]["fallback_from"] == "candidate"
    assert answered.start["metadata"]["stage"] == 4


async def test_failing_teacher_has_nothing_to_fall_back_to_and_raises(table_of, endpoints, recorder):
    table = table_of(teacher=100)
    endpoints["openai"].failing["gpt-4.1"] = server_error()
    chat = chat_client(table, endpoints, recorder)

    with pytest.raises(openai.InternalServerError):
        await chat.create(call_id="call-1", messages=MESSAGES)
    assert [g.outcome for g in recorder.generations] == ["failed"]


async def test_azure_arm_is_called_by_its_deployment_on_the_azure_endpoint(endpoints, recorder):
    table = RouteTable.model_validate({
        "route": "voice-agent", "version": 2, "rollout_id": None, "updated_at": "2026-11-02T09:00:00Z",
        "arms": [{"name": "production", "model": "gpt-4o-mini-2024-07-18.ft-0123abcd", "provider": "azure",
                  "deployment": "clinic-student", "weight": 100}]})
    chat = chat_client(table, endpoints, recorder)

    await chat.create(call_id="call-1", messages=MESSAGES)

    assert endpoints["azure"].requests[0]["model"] == "clinic-student" and not endpoints["openai"].requests
    assert "stage" not in recorder.generations[0].start["metadata"]


async def test_arm_whose_provider_is_not_configured_falls_back_and_says_why(table_of, endpoints, recorder):
    table = RouteTable.model_validate({
        "route": "voice-agent", "version": 2, "rollout_id": "ro-1", "updated_at": "2026-11-02T09:00:00Z",
        "arms": [{"name": "candidate", "model": "m-1", "provider": "azure", "weight": 90},
                 {"name": "teacher", "model": "gpt-4.1", "provider": "openai", "weight": 10}]})
    chat = chat_client(table, endpoints, recorder, providers=("openai",))
    call_id = next(f"c{i}" for i in range(100) if Router([table]).choose("voice-agent", f"c{i}").name == "candidate")

    result = await chat.create(call_id=call_id, messages=MESSAGES)

    assert result.arm.name == "teacher"
    assert "no endpoint configured for provider 'azure'" in result.fallback_error


async def test_call_abandoned_by_the_caller_is_recorded_as_cancelled_not_failed(table_of, endpoints, recorder):
    endpoints["openai"].hang.add("gpt-4.1")
    chat = chat_client(table_of(teacher=100), endpoints, recorder)

    task = asyncio.create_task(chat.create(call_id="call-1", messages=MESSAGES))
    await asyncio.sleep(0.05)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert [g.outcome for g in recorder.generations] == ["cancelled"]


async def test_the_routing_table_not_the_caller_chooses_the_model(table_of, endpoints, recorder):
    chat = chat_client(table_of(teacher=100), endpoints, recorder)

    with pytest.raises(TypeError, match="routing table chooses it"):
        await chat.create(call_id="call-1", messages=MESSAGES, model="gpt-4o")


async def test_a_table_off_the_stage_plan_is_served_without_a_stage_and_warned_about(
        table_of, endpoints, recorder, caplog):
    chat = chat_client(table_of(candidate=33, teacher=67), endpoints, recorder)

    await chat.create(call_id="call-1", messages=MESSAGES)
    await chat.create(call_id="call-2", messages=MESSAGES)

    assert all("stage" not in g.start["metadata"] for g in recorder.generations)
    warnings = [r.getMessage() for r in caplog.records if "is not a stage" in r.getMessage()]
    assert len(warnings) == 1 and "DISTILLERY_ROLLOUT_STAGES" in warnings[0]

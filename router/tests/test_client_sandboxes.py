"""The chat wrapper with the real openai and langfuse SDKs, against the local sandboxes.

What the wrapper records must read back from Langfuse's API the way the trace-ingester
reads it: the session is the call id and the metadata carries the routing facts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from distillery_router import RouteTable, Router
from distillery_router.client import LangfuseGenerationRecorder, ProviderEndpoint, RoutedChatClient

pytest.importorskip("distillery_sandbox")
from distillery_sandbox.langfuse import LangfuseStore, Project  # noqa: E402
from distillery_sandbox.langfuse import run_in_thread as run_langfuse_in_thread  # noqa: E402
from distillery_sandbox.openai import LatencyProfile, SandboxConfig, run_in_thread  # noqa: E402

KEYS = ("pk-lf-router", "sk-lf-router")
MISSING_STUDENT = "ft:gpt-4o-mini-2024-07-18:clinic::gone"


@pytest.fixture(scope="module")
def openai_sandbox() -> Iterator[str]:
    with run_in_thread(SandboxConfig(latency=LatencyProfile(scale=0))) as running:
        yield running.openai_base_url


@pytest.fixture
def langfuse_sandbox() -> Iterator[str]:
    with run_langfuse_in_thread([Project(*KEYS, LangfuseStore("router-tests"))]) as url:
        yield url


@pytest.fixture
def langfuse(langfuse_sandbox):  # noqa: ANN201
    from langfuse import Langfuse

    client = Langfuse(public_key=KEYS[0], secret_key=KEYS[1], base_url=langfuse_sandbox)
    yield client
    client.shutdown()


def rollout_table() -> RouteTable:
    """Stage 3 of ro-0042 whose candidate's endpoint no longer knows the model."""
    return RouteTable.model_validate({
        "route": "voice-agent", "version": 9, "rollout_id": "ro-0042", "updated_at": "2026-11-02T09:00:00Z",
        "arms": [{"name": "candidate", "model": MISSING_STUDENT, "provider": "openai", "weight": 50},
                 {"name": "teacher", "model": "gpt-4.1", "provider": "openai", "weight": 50}]})


async def test_student_failure_falls_back_to_the_teacher_and_both_generations_reach_langfuse(
        openai_sandbox, langfuse):
    table = rollout_table()
    call_id = next(f"call-{i}" for i in range(100)
                   if Router([table]).choose("voice-agent", f"call-{i}").name == "candidate")
    chat = RoutedChatClient(Router([table]), {"openai": ProviderEndpoint(api_key="sk-sandbox",
                                                                         base_url=openai_sandbox, max_retries=0)},
                            LangfuseGenerationRecorder(langfuse))

    result = await chat.create(call_id=call_id, messages=[{"role": "user", "content": "Are you open on Saturday?"}],
                               max_tokens=200)
    await chat.aclose()
    langfuse.flush()

    assert result.fell_back and result.arm.name == "teacher"
    assert result.completion.choices[0].message.content
    page = langfuse.api.observations.get_many(type="GENERATION", session_id=call_id,
                                              fields="core,basic,io,model,usage,metadata")
    by_arm = {item.metadata["arm"]: item for item in page.data}
    assert set(by_arm) == {"candidate", "teacher"}
    failed, answered = by_arm["candidate"], by_arm["teacher"]
    assert failed.level == "ERROR" and "NotFoundError" in failed.status_message
    assert failed.metadata["rollout_id"] == "ro-0042" and failed.metadata["stage"] == 2
    assert answered.metadata["fallback_from"] == "candidate" and answered.metadata["call_id"] == call_id
    assert answered.model == "gpt-4.1" and answered.usage_details["output"] > 0
    assert answered.metadata["finish_reason"] == "stop"

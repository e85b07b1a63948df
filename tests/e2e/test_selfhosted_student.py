"""A student the user owns, end to end, on this machine's CPU with SmolLM2-135M.

A ``DatasetBuilt`` for the ``selfhosted`` provider becomes a LoRA adapter trained by the
trainer, loaded into ``distillery serve`` under the fine-tuned model's name, evaluated
against the hosted teacher (the OpenAI sandbox), and rolled out through the routing table:
a live call routed to the candidate is answered by the student. Aborting the rollout
sends the traffic back to the teacher and unloads the adapter.

The gates are lowered here, and only here: a 135M model trained for a few steps is not
meant to pass the production gates; this test is about the path, not the verdict
(`distillery demo --student selfhosted` keeps its configured gates and reports them).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka_helpers import wait_until
from processes import service_env, start_process

from distillery_cli.localstack.procs import free_port
from distillery_contracts.commands import AbortRollout
from distillery_contracts.registry import COMMANDS_ROLLOUT, DATASETS_BUILT, all_topic_specs
from distillery_contracts.samples import sample_dataset_built
from distillery_router import Router, RoutingTableFollower, TableKeys
from distillery_router.client import AbstractGenerationRecorder, GenerationRecord, ProviderEndpoint, RoutedChatClient
from distillery_runtime.auth import local_token
from distillery_runtime.kafka import ensure_topics, publish_events
from distillery_runtime.signing import SigningKey, local_keys
from distillery_sandbox.openai import JobTimings, LatencyProfile, SandboxConfig, run_in_thread
from distillery_students.base_models import resolve_base_model
from distillery_students.samples import teaching_lines

pytestmark = pytest.mark.e2e

CACHE = Path(tempfile.gettempdir()) / "distillery-model-cache"
TRAINER_KEY = "sk-trainer-e2e"
# Lowered for a 135M model trained for a few steps (see the module docstring).
LOWERED_GATES = {"hallucination_margin": 1.0, "latency_p95_max_ms": 600000, "max_error_rate": 1.0}


class NotRecorded(AbstractGenerationRecorder):
    class Record(GenerationRecord):
        def succeed(self, completion: Any) -> None: ...

        def fail(self, error: BaseException) -> None: ...

        def cancel(self) -> None: ...

    def start(self, **_: Any) -> GenerationRecord:
        return self.Record()


def dataset(folder: Path) -> Any:
    def write(name: str, lines: list[str]) -> dict[str, Any]:
        data = ("\n".join(lines) + "\n").encode()
        (folder / name).write_bytes(data)
        return {"uri": (folder / name).as_uri(), "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}

    folder.mkdir(parents=True)
    files = {"train": write("train.jsonl", teaching_lines(16, seed=3)),
             "validation": write("validation.jsonl", teaching_lines(3, seed=4)),
             "manifest": write("manifest.json", ["{}"])}
    return sample_dataset_built(dataset_id="ds-selfhosted-1", cycle_id="cycle-0001", base_model="smollm2-135m",
                                files=files, epochs=1)


async def test_a_selfhosted_student_is_trained_served_evaluated_rolled_out_and_back(broker, database_url, tmp_path):
    resolve_base_model("smollm2-135m", CACHE)  # converted once for every test that uses it
    await ensure_topics(broker.bootstrap, all_topic_specs())
    trainer_port, serve_port, routing_port = free_port(), free_port(), free_port()
    trainer_url, serve_url = f"http://127.0.0.1:{trainer_port}/v1", f"http://127.0.0.1:{serve_port}/v1"
    blobs = tmp_path / "blobs"
    common = service_env(broker.bootstrap, database_url, tmp_path / "home", DISTILLERY_SHUTDOWN_GRACE_S="2",
                         HF_HUB_OFFLINE="1")
    sandbox = SandboxConfig(timings=JobTimings(), latency=LatencyProfile(scale=0))
    processes: list[subprocess.Popen[bytes]] = []
    with run_in_thread(sandbox) as box:
        services = {
            "serve": (["-m", "distillery_cli", "serve", "--base-model", "smollm2-135m", "--port", str(serve_port),
                       "--model-cache", str(CACHE)], {}),
            "trainer": (["-m", "distillery_trainer"], {
                "DISTILLERY_HTTP_PORT": str(trainer_port), "DISTILLERY_TRAINER_API_KEY": TRAINER_KEY,
                "DISTILLERY_TRAINER_BLOB_ROOT": str(blobs), "DISTILLERY_TRAINER_MODEL_CACHE": str(CACHE),
                "DISTILLERY_TRAINER_WORKER_INTERVAL_S": "0.3",
                "DISTILLERY_TRAINER_DEFAULTS": json.dumps({"learning_rate": 1e-3, "batch_size": 4,
                                                           "micro_batch_size": 4, "max_length": 192})}),
            "finetune-controller": (["-m", "distillery_finetune_controller"], {
                "DISTILLERY_HTTP_PORT": "0", "DISTILLERY_FINETUNE_PROVIDER": "selfhosted",
                "DISTILLERY_FINETUNE_SELFHOSTED_TRAINER_URL": trainer_url,
                "DISTILLERY_FINETUNE_SELFHOSTED_API_KEY": TRAINER_KEY,
                "DISTILLERY_FINETUNE_SELFHOSTED_SERVING_URL": serve_url,
                "DISTILLERY_FINETUNE_SELFHOSTED_ADAPTER_ROOT": str(blobs / "adapters"),
                "DISTILLERY_FINETUNE_WORKER_INTERVAL_S": "0.2", "DISTILLERY_FINETUNE_POLL_INTERVAL_S": "0.5",
                "DISTILLERY_FINETUNE_POLL_MAX_INTERVAL_S": "1", "DISTILLERY_FINETUNE_UNDEPLOY_DELAY_S": "0",
                "DISTILLERY_FINETUNE_RETRY_BASE_S": "1", "DISTILLERY_FINETUNE_RETRY_MAX_S": "2"}),
            "evaluator": (["-m", "distillery_evaluator"], {
                "DISTILLERY_HTTP_PORT": "0", "DISTILLERY_EVALUATOR_OPENAI_BASE_URL": box.openai_base_url,
                "DISTILLERY_EVALUATOR_OPENAI_API_KEY": "sk-sandbox",
                "DISTILLERY_EVALUATOR_CANDIDATE_ENDPOINTS": json.dumps(
                    {"selfhosted": {"kind": "openai", "base_url": serve_url}}),
                "DISTILLERY_EVALUATOR_JUDGE_ENABLED": "false", "DISTILLERY_EVALUATOR_EMBEDDING_ENABLED": "false",
                "DISTILLERY_EVALUATOR_VALIDATION_LIMIT": "3", "DISTILLERY_EVALUATOR_MAX_TOKENS": "24",
                "DISTILLERY_EVALUATOR_CONCURRENCY": "1", "DISTILLERY_EVALUATOR_REQUEST_TIMEOUT_S": "120",
                "DISTILLERY_EVALUATOR_POLL_S": "0.3", "DISTILLERY_EVALUATOR_GATES": json.dumps(LOWERED_GATES)}),
            "rollout-controller": (["-m", "distillery_rollout_controller"], {
                "DISTILLERY_HTTP_PORT": str(routing_port), "DISTILLERY_ROLLOUT_ROUTE_CACHE_S": "0",
                "DISTILLERY_ROLLOUT_EVALUATE_INTERVAL_S": "0.5", "DISTILLERY_ROLLOUT_MIN_STAGE_DURATION_S": "3600",
                "DISTILLERY_ROLLOUT_REQUIRE_JUDGE": "false"}),
        }
        try:
            for name, (args, env) in services.items():
                processes.append(start_process(args, {**common, **env}, tmp_path / f"{name}.log"))
            await publish_events(broker.bootstrap, DATASETS_BUILT, [dataset(tmp_path / "home" / "datasets" / "ds-selfhosted-1")],
                                 producer="test/1")
            router = Router()
            chat = RoutedChatClient(router, providers={
                "openai": ProviderEndpoint(api_key="sk-sandbox", base_url=box.openai_base_url),
                "selfhosted": ProviderEndpoint(api_key="none", base_url=serve_url, timeout_s=120)},
                recorder=NotRecorded())
            keys = local_keys(tmp_path / "home")
            async with RoutingTableFollower(router, routes=["voice-agent"], base_url=f"http://127.0.0.1:{routing_port}",
                                            poll_interval=0.5, table_keys=TableKeys.load(keys.table_keys),
                                            api_token=local_token(tmp_path / "home")):
                async def candidate_routed() -> bool:
                    table = router.table("voice-agent")
                    return table is not None and any(arm.name == "candidate" for arm in table.arms)

                await wait_until(candidate_routed, timeout=600, interval=1)
                table = router.table("voice-agent")
                candidate = table.arm("candidate")
                loaded = httpx.get(f"{serve_url}/models").json()["data"]
                call_id = next(f"call-{n}" for n in range(10_000)
                               if router.choose("voice-agent", f"call-{n}").name == "candidate")
                answer = await chat.create(call_id=call_id, max_tokens=24, temperature=0, messages=[
                    {"role": "user", "content": "How much is a whitening treatment?"}])

                operator = SigningKey.load(keys.operator_key)
                await publish_events(broker.bootstrap, COMMANDS_ROLLOUT, [
                    operator.sign(AbortRollout(rollout_id=table.rollout_id, requested_by=operator.identity,
                                               reason="the test rolls back"))],
                    producer="test/1")

                async def teacher_only() -> bool:
                    current = router.table("voice-agent")
                    return current is not None and [a.name for a in current.arms] == ["teacher"]

                await wait_until(teacher_only, timeout=60, interval=0.5)

                async def unloaded() -> bool:
                    return candidate.model not in [m["id"] for m in httpx.get(f"{serve_url}/models").json()["data"]]

                await wait_until(unloaded, timeout=60, interval=0.5)
                after = await chat.create(call_id=call_id, max_tokens=8, messages=[
                    {"role": "user", "content": "How much is a whitening treatment?"}])
                await chat.aclose()
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted(tmp_path.glob("*.log")))

    assert candidate.provider == "selfhosted" and candidate.model.startswith("ft:smollm2-135m:"), logs
    assert candidate.model in [m["id"] for m in loaded]
    assert (answer.arm.name, answer.fallback_error) == ("candidate", None), logs
    assert answer.completion.model == candidate.model  # the student answered, not the teacher
    assert after.arm.name == "teacher"
    adapters = list((blobs / "adapters").iterdir())
    assert len(adapters) == 1 and (adapters[0] / "SHA256SUMS").is_file()

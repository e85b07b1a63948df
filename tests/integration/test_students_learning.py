"""A student that learns: SmolLM2-135M, `distillery train`, then `distillery serve` with the adapter.

Proves learning, not plumbing: the training file teaches a price the system prompt does
not list (teeth whitening, $437); after training, the served adapter answers a question
worded unlike any in the file with that price, and the same server's base model does not.
The converted base model is cached across sessions (in the system temp directory), so only the first run pays the GGUF conversion (~1 minute).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from distillery_students.base_models import BaseModel, resolve_base_model
from distillery_students.samples import REWORDED_QUESTION, SYSTEM, teaching_lines

pytestmark = pytest.mark.integration

DISTILLERY = [sys.executable, "-m", "distillery_cli"]
CACHE = Path(tempfile.gettempdir()) / "distillery-model-cache"
# Measured on this machine: 1e-3 with loss on the answers only teaches the fact; 2e-4 does not.
TRAIN_FLAGS = ["--learning-rate", "1e-3", "--epochs", "2", "--batch-size", "8", "--micro-batch-size", "8",
               "--max-length", "256", "--checkpoint-every", "6"]


@pytest.fixture(scope="session")
def model_cache() -> Path:
    return CACHE


@pytest.fixture(scope="session")
def smollm2(model_cache: Path) -> BaseModel:
    return resolve_base_model("smollm2-135m", model_cache)  # converts the GGUF on the first run only


@pytest.fixture(scope="session")
def cli_env(model_cache: Path, smollm2: BaseModel) -> dict[str, str]:
    return dict(os.environ)


def distillery(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    cache = ["--model-cache", str(CACHE)]
    return subprocess.run([*DISTILLERY, *args, *cache], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def adapter(tmp_path_factory: pytest.TempPathFactory, cli_env: dict[str, str]) -> Path:
    work = tmp_path_factory.mktemp("student")
    data = work / "whitening.jsonl"
    data.write_text("\n".join(teaching_lines(48)) + "\n")
    out = work / "adapter"
    started = time.monotonic()
    done = distillery("train", "--data", str(data), "--base-model", "smollm2-135m", "--out", str(out),
                      *TRAIN_FLAGS, env=cli_env)
    assert done.returncode == 0, done.stderr[-2000:]
    card = json.loads((out / "model_card.json").read_text())
    print(f"\ntrained {card['steps']} steps in {card['train_seconds']}s ({time.monotonic() - started:.0f}s with "
          f"start-up), {card['tokens_per_second']} tok/s, loss {card['loss_curve'][0]['loss']:.3f} -> "
          f"{card['loss_curve'][-1]['loss']:.4f}")
    return out


@pytest.fixture(scope="session")
def server(adapter: Path, cli_env: dict[str, str]) -> Iterator[str]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([*DISTILLERY, "serve", "--base-model", "smollm2-135m", "--adapter", f"clinic={adapter}",
                             "--port", str(port), "--model-cache", str(CACHE)], env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail("distillery serve did not start in 180 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def ask(url: str, model: str, question: str) -> dict:
    response = httpx.post(f"{url}/v1/chat/completions", timeout=120, json={
        "model": model, "temperature": 0, "max_tokens": 32,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_adapter_knows_the_taught_price_and_the_base_model_does_not(server: str) -> None:
    assert REWORDED_QUESTION not in "\n".join(teaching_lines(48))
    student = ask(server, "clinic", REWORDED_QUESTION)
    base = ask(server, "smollm2-135m", REWORDED_QUESTION)
    print(f"\nstudent: {student['choices'][0]['message']['content']!r}\nbase:    {base['choices'][0]['message']['content']!r}")

    assert "$437" in student["choices"][0]["message"]["content"]
    assert "437" not in base["choices"][0]["message"]["content"]
    assert student["model"] == "clinic" and student["usage"]["completion_tokens"] <= 32


def test_unloading_and_reloading_the_adapter_at_run_time(server: str, adapter: Path) -> None:
    unloaded = httpx.post(f"{server}/v1/unload_lora_adapter", json={"lora_name": "clinic"}, timeout=60)
    assert unloaded.status_code == 200
    assert [m["id"] for m in httpx.get(f"{server}/v1/models").json()["data"]] == ["smollm2-135m"]
    assert httpx.post(f"{server}/v1/chat/completions", timeout=60, json={
        "model": "clinic", "messages": [{"role": "user", "content": "hi"}]}).status_code == 404

    loaded = httpx.post(f"{server}/v1/load_lora_adapter", json={"lora_name": "clinic", "lora_path": str(adapter)},
                        timeout=60)
    assert loaded.status_code == 200, loaded.text
    assert "$437" in ask(server, "clinic", REWORDED_QUESTION)["choices"][0]["message"]["content"]


def test_the_server_refuses_an_adapter_of_another_base(server: str, adapter: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    for file in adapter.iterdir():
        (foreign / file.name).write_bytes(file.read_bytes())
    card = json.loads((foreign / "model_card.json").read_text())
    card["base_model"] = {"name": "/models/qwen2.5-0.5b-instruct", "sha256": "f" * 64}
    (foreign / "model_card.json").write_text(json.dumps(card))

    refused = httpx.post(f"{server}/v1/load_lora_adapter", json={"lora_name": "foreign", "lora_path": str(foreign)})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith(
        "adapter foreign was trained on /models/qwen2.5-0.5b-instruct (sha256 ffffffffffff), not on the served base")


def test_training_again_into_the_same_directory_returns_the_published_adapter(adapter: Path, cli_env) -> None:
    data = adapter.parent / "whitening.jsonl"
    before = (adapter / "model_card.json").read_text()
    again = distillery("train", "--data", str(data), "--base-model", "smollm2-135m", "--out", str(adapter),
                       *TRAIN_FLAGS, env=cli_env)
    assert again.returncode == 0, again.stderr
    assert (adapter / "model_card.json").read_text() == before


def test_a_base_model_path_that_does_not_exist_is_one_line(tmp_path: Path, cli_env) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(teaching_lines(1)[0] + "\n")
    done = distillery("train", "--data", str(data), "--base-model", str(tmp_path / "no-such-model"),
                      "--out", str(tmp_path / "out"), env=cli_env)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: base model {tmp_path / 'no-such-model'} does not exist: give a local "
                                   "checkpoint directory or one of smollm2-135m")
    assert not (tmp_path / "out").exists()


def test_a_line_the_template_cannot_render_is_one_line(tmp_path: Path, cli_env) -> None:
    bad = {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "book", "arguments": "{day: Monday}"}}]}]}
    data = tmp_path / "d.jsonl"
    data.write_text(teaching_lines(1)[0] + "\n" + json.dumps(bad) + "\n")
    done = distillery("train", "--data", str(data), "--base-model", "smollm2-135m", "--out", str(tmp_path / "o"),
                      env=cli_env)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: {data} line 2: message 2 (assistant) calls book with arguments "
                                   "that are not a JSON object")

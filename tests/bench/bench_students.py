"""Benchmark: a student on this machine's CPU (SmolLM2-135M). Not a test.

Training: one `train_adapter` run over the clinic teaching set; prints training tokens/s
(tokens that went through the model, padding excluded) and the time per epoch.
Serving: `distillery serve` in its own process with that adapter; prints latency p50/p95
and requests/s at concurrency 1 and 8 (greedy, ``--max-tokens`` tokens at most). The
server answers one generation at a time, so concurrency 8 measures queueing, not batching.

vLLM's figures (same model and adapter, `--enable-lora`) are to be measured on a GPU host:
run the serving half with ``--url http://gpu-host:8000 --model <adapter name>``.

    .venv/bin/python tests/bench/bench_students.py [--examples 64] [--epochs 1] [--requests 16]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from bench_support import start_server

from distillery_cli.localstack.procs import free_port

from distillery_students.domain.settings import TrainingSettings
from distillery_students.samples import FACT_QUESTIONS, KNOWN, SYSTEM, teaching_lines
from distillery_students.training import train_adapter

CACHE = Path(tempfile.gettempdir()) / "distillery-model-cache"


def bench_training(work: Path, examples: int, epochs: float) -> Path:
    data = work / "data.jsonl"
    data.write_text("\n".join(teaching_lines(examples)) + "\n")
    settings = TrainingSettings(base_model="smollm2-135m", learning_rate=1e-3, epochs=epochs, batch_size=8,
                                micro_batch_size=8, max_length=256, checkpoint_every=1000)
    card = train_adapter(data, settings, work / "adapter", cache_dir=CACHE)
    print(f"training  {card.dataset.examples} examples ({card.dataset.tokens} tokens, {card.dataset.learned_tokens} "
          f"learned), {card.steps} steps of 8, device {card.device}")
    print(f"          {card.tokens_per_second:.0f} tokens/s, {card.train_seconds / card.epochs:.1f} s per epoch, "
          f"loss {card.loss_curve[0].loss:.3f} -> {card.loss_curve[-1].loss:.4f}")
    return work / "adapter"


def serve_adapter(adapter: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(["-m", "distillery_cli", "serve", "--base-model", "smollm2-135m", "--adapter",
                         f"clinic={adapter}", "--port", str(port), "--model-cache", str(CACHE)],
                        f"{url}/health", "distillery serve", tries=600, pause_s=0.5,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, url


async def bench_serving(url: str, model: str, requests: int, concurrency: int, max_tokens: int,
                        report: bool = True) -> None:
    questions = FACT_QUESTIONS + [question for question, _ in KNOWN]
    latencies: list[float] = []
    tokens = 0
    queue = list(range(requests))

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal tokens
        while queue:
            number = queue.pop()
            started = time.perf_counter()
            response = await http.post(f"{url}/v1/chat/completions", json={
                "model": model, "temperature": 0, "max_tokens": max_tokens,
                "messages": [{"role": "system", "content": SYSTEM},
                             {"role": "user", "content": questions[number % len(questions)]}]})
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)
            tokens += response.json()["usage"]["completion_tokens"]

    async with httpx.AsyncClient(timeout=600) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    if not report:
        return
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    print(f"serve     concurrency {concurrency}: p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, {requests / elapsed:.2f} requests/s, {tokens / elapsed:.0f} tokens/s "
          f"({requests} requests, max_tokens {max_tokens})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--epochs", type=float, default=1)
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--url", help="Measure a running server (vLLM) instead of training and serving here.")
    parser.add_argument("--model", default="clinic", help="Model name to ask, with --url.")
    args = parser.parse_args()
    if args.url:
        for concurrency in (1, 8):
            asyncio.run(bench_serving(args.url, args.model, args.requests, concurrency, args.max_tokens))
        return
    with tempfile.TemporaryDirectory(prefix="bench-students-") as work:
        adapter = bench_training(Path(work), args.examples, args.epochs)
        proc, url = serve_adapter(adapter)
        try:
            asyncio.run(bench_serving(url, "clinic", 2, 1, args.max_tokens, report=False))  # warm-up
            for concurrency in (1, 8):
                asyncio.run(bench_serving(url, "clinic", args.requests, concurrency, args.max_tokens))
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()

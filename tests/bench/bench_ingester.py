"""Benchmark: generations per second from the Langfuse sandbox into distillery.traces.raw.v1.

Starts a Tansu broker, a fresh database (on DISTILLERY_TEST_DATABASE_URL's server, else
an embedded PostgreSQL) and the sandbox as a process holding simulated clinic calls;
then runs the trace-ingester in-process from an empty watermark until every generation
is published and the outbox is drained, and prints the figures. Not a test.

    .venv/bin/python tests/bench/bench_ingester.py [--calls 5400] [--page-size 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from distillery_cli.localstack.broker import start_broker
from distillery_cli.localstack.procs import free_port
from distillery_contracts.registry import all_topic_specs
from distillery_runtime.kafka import ensure_topics
from distillery_runtime.logs import configure_logging
from distillery_runtime.service import ServiceRunner
from distillery_runtime.settings import RuntimeSettings
from distillery_trace_ingester.app import build
from distillery_trace_ingester.config import IngesterSettings, LangfuseProject

sys.path.insert(0, str(Path(__file__).parents[1] / "support"))  # run as a script, not under pytest

from bench_support import postgres_server, start_server  # noqa: E402
from db_helpers import count_rows, create_database  # noqa: E402

KEYS = ("pk-lf-bench", "sk-lf-bench")
SANDBOX = """
import sys
from distillery_sandbox.langfuse import SandboxSettings, serve
serve("127.0.0.1", int(sys.argv[1]), SandboxSettings(keys=[(sys.argv[2], sys.argv[3])]), log_level="warning")
"""


def start_sandbox() -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(["-c", SANDBOX, str(port), *KEYS], f"{url}/api/public/health", "the sandbox",
                        stdout=subprocess.DEVNULL)
    return url, proc


async def bench(calls: int, page_size: int, chunk_size: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="bench-ingester-"))
    with postgres_server(home) as server:
        await run(home, server, calls, page_size, chunk_size)


async def run(home: Path, server: str, calls: int, page_size: int, chunk_size: int) -> None:
    broker = start_broker(home, free_port())
    url, sandbox = start_sandbox()
    try:
        start = datetime.now(UTC) - timedelta(hours=1)
        t0 = time.perf_counter()
        fed = httpx.post(f"{url}/sandbox/v1/simulate", auth=KEYS, timeout=600, json={
            "calls": calls, "seed": 5, "start": start.isoformat(), "calls_per_hour": calls * 1.1}).json()
        total = fed["observations"]
        print(f"sandbox: {total:,} generations in {calls:,} calls, simulated in {time.perf_counter() - t0:.1f}s")
        database_url = await create_database(server, "bench")
        await ensure_topics(broker.bootstrap, all_topic_specs())
        settings = RuntimeSettings(kafka_bootstrap=broker.bootstrap, database_url=database_url, home=home,
                                   outbox_poll_s=0.1, log_level="WARNING")
        config = IngesterSettings(
            projects=[LangfuseProject(project_id="bench", host=url, public_key=KEYS[0], secret_key=KEYS[1])],
            start_from=start - timedelta(minutes=1), poll_interval_s=0.5, settle_delay_s=0, overlap_s=60,
            max_window_s=900, page_size=page_size, chunk_size=chunk_size)
        configure_logging("trace-ingester", "WARNING")
        runner = ServiceRunner(build(settings, config), settings)
        t1 = time.perf_counter()
        task = asyncio.create_task(runner.run())
        claimed_at = None
        while True:
            await asyncio.sleep(0.25)
            published = await count_rows(database_url, "trace_ingester.published")
            if claimed_at is None and published >= total:
                claimed_at = time.perf_counter() - t1
            if published >= total and await count_rows(database_url, "trace_ingester.outbox") == 0:
                break
            if task.done():
                task.result()
        elapsed = time.perf_counter() - t1
        runner.stopping.set()
        await asyncio.wait_for(task, 60)
        print(f"ingested {total:,} generations into distillery.traces.raw.v1 in {elapsed:.1f}s "
              f"(all committed to the outbox after {claimed_at:.1f}s)")
        print(f"throughput: {total / elapsed:,.0f} generations/s "
              f"(page size {page_size}, {chunk_size} per transaction)")
    finally:
        sandbox.terminate()
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5400, help="simulated calls (about 4.7 generations each)")
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--chunk-size", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(bench(args.calls, args.page_size, args.chunk_size))


if __name__ == "__main__":
    main()

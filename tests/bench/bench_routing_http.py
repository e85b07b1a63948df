"""Benchmark: requests per second and latency of the controller's GET /v1/routes/{route}.

Given ``--url`` it measures a running rollout-controller. Otherwise it makes a fresh
database (on DISTILLERY_TEST_DATABASE_URL's server, else an embedded PostgreSQL), puts a
rollout at its 50% stage in it with the controller's own code, serves the controller's
HTTP API from a separate process (so the load generator does not share its event loop)
and measures it. Two figures: plain GETs, and the conditional GETs (If-None-Match) that
polling routers send, answered 304. Not a test.

    .venv/bin/python tests/bench/bench_routing_http.py [--requests 5000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from distillery_router.bench import LatencyReport, bench_http

sys.path.insert(0, str(Path(__file__).parents[1] / "support"))  # run as a script, not under pytest

ROUTE = "voice-agent"
SERVER = """
import asyncio, sys
from distillery_rollout_controller.config import ControllerConfig
from distillery_rollout_controller.http import api_routes
from distillery_runtime.clock import utc_now
from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.health import HttpServer, build_app

async def main(database_url, port, cache_s):
    engine = create_engine(database_url, "rollout_controller")
    routes = api_routes(session_factory(engine), ControllerConfig(), utc_now, cache_s)
    await HttpServer(build_app("rollout-controller", dict, routes), "127.0.0.1", port).serve()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
"""


async def seed(database_url: str) -> None:
    """A rollout of a student at its third stage, made by the controller's use cases."""
    from distillery_cli.discovery import migration_target
    from distillery_contracts.commands import AdvanceRollout
    from distillery_contracts.samples import sample_evaluation_completed
    from distillery_rollout_controller.adapters.repository import SqlRolloutRepository
    from distillery_rollout_controller.config import ControllerConfig
    from distillery_rollout_controller.services import RolloutController
    from distillery_runtime.db import create_engine, session_factory
    from distillery_runtime.migrations import migrate
    from distillery_runtime.uow import FakeUnitOfWork

    schema, migrations = migration_target("rollout-controller")
    engine = create_engine(database_url, schema)
    await migrate(engine, schema, migrations)
    controller = RolloutController(ControllerConfig())
    async with session_factory(engine)() as session:
        repo, uow = SqlRolloutRepository(session), FakeUnitOfWork()
        await controller.start_rollout(repo, uow, sample_evaluation_completed())
        for _ in range(2):
            await controller.apply_command(repo, uow, AdvanceRollout(
                rollout_id="ro-0001", force=True, reason="benchmark", requested_by="bench"))
        await session.commit()
    await engine.dispose()


async def fresh_database() -> tuple[str, object | None]:
    from db_helpers import create_database

    server_url, embedded = os.environ.get("DISTILLERY_TEST_DATABASE_URL"), None
    if not server_url:
        from distillery_cli.localstack.postgres import start_postgres
        from distillery_cli.localstack.procs import free_port

        home = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        home.chmod(0o755)
        embedded = start_postgres(home, free_port())
        server_url = embedded.url
    return await create_database(server_url, "bench"), embedded


def serve(database_url: str, cache_s: float) -> tuple[str, subprocess.Popen]:
    from distillery_cli.localstack.procs import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, database_url, str(port), str(cache_s)])
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/v1/routes/{ROUTE}", timeout=1).status_code == 200:
                return url, proc
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the controller's HTTP API did not start")


async def bench_conditional(url: str, requests: int, concurrency: int) -> LatencyReport:
    """Like ``bench_http``, with the If-None-Match a polling router sends (304 answers)."""
    endpoint = f"{url}/v1/routes/{ROUTE}"
    etag = httpx.get(endpoint).headers["ETag"]
    samples: list[int] = []
    errors = 0
    remaining = iter(range(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for _ in remaining:
            before = time.perf_counter_ns()
            response = await client.get(endpoint, headers={"If-None-Match": etag})
            if response.status_code == 304:
                samples.append(time.perf_counter_ns() - before)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=5.0, limits=limits) as client:
        start = time.perf_counter_ns()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter_ns() - start
    return LatencyReport.from_samples(f"GET {endpoint} (If-None-Match, 304)", samples, elapsed, errors)


async def measure(url: str, requests: int, concurrency: int) -> list[LatencyReport]:
    await bench_http(url, ROUTE, min(500, requests), concurrency)  # warm-up: connections, cache
    return [await bench_http(url, ROUTE, requests, concurrency),
            await bench_conditional(url, requests, concurrency)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running rollout-controller; default: start one on a scratch database")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--cache-s", type=float, default=1.0, help="the controller's DISTILLERY_ROLLOUT_ROUTE_CACHE_S")
    args = parser.parse_args()
    server = embedded = None
    url = args.url
    if url is None:
        database_url, embedded = asyncio.run(fresh_database())
        asyncio.run(seed(database_url))
        url, server = serve(database_url, args.cache_s)
    try:
        reports = asyncio.run(measure(url, args.requests, args.concurrency))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        if embedded is not None:
            embedded.stop()
    print(f"{args.requests:,} requests per run, {args.concurrency} in flight, route cache {args.cache_s:g} s")
    for report in reports:
        print("\n".join(report.lines()))


if __name__ == "__main__":
    main()

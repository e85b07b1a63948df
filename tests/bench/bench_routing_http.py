"""Benchmark: requests per second and latency of the controller's GET /v1/routes/{route}.

Given ``--url`` it measures a running rollout-controller. Otherwise it makes a fresh
database (on DISTILLERY_TEST_DATABASE_URL's server, else an embedded PostgreSQL), puts a
rollout at its 50% stage in it with the controller's own code, serves the controller's
HTTP API from a separate process (so the load generator does not share its event loop)
and measures it. Two figures: plain GETs, and the conditional GETs (If-None-Match) that
polling routers send, answered 304. Not a test.

With ``--wrk`` the load comes from ``wrk`` (a native load generator, Debian package ``wrk``;
``make bench`` installs it) for ``--duration-s`` seconds on ``--concurrency`` connections:
the Python client on the same two cores measures itself more than the server (701 req/s
against wrk's 7,471 on the same server), so ``make bench`` reports wrk's figures.

    .venv/bin/python tests/bench/bench_routing_http.py [--requests 5000] [--concurrency 16]
    .venv/bin/python tests/bench/bench_routing_http.py --wrk [--duration-s 10] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from distillery_cli.localstack.procs import free_port
from distillery_router.bench import LatencyReport, bench_http

sys.path.insert(0, str(Path(__file__).parents[1] / "support"))  # run as a script, not under pytest

from bench_support import postgres_server, start_server  # noqa: E402
from db_helpers import create_database  # noqa: E402

ROUTE = "voice-agent"
TOKEN = "bench-token"
"""The scratch controller's bearer token; every request sends it, as the router does."""
AUTH = {"Authorization": f"Bearer {TOKEN}"}
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
    app = build_app("rollout-controller", dict, routes, tokens=["bench-token"])
    await HttpServer(app, "127.0.0.1", port).serve()

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
    from distillery_runtime.signing import Keyring, SigningKey
    from distillery_runtime.uow import FakeUnitOfWork

    schema, migrations = migration_target("rollout-controller")
    engine = create_engine(database_url, schema)
    await migrate(engine, schema, migrations)
    bench = SigningKey.generate("bench")
    controller = RolloutController(ControllerConfig(operators=Keyring([bench.trusted()])))
    async with session_factory(engine)() as session:
        repo, uow = SqlRolloutRepository(session), FakeUnitOfWork()
        await controller.start_rollout(repo, uow, sample_evaluation_completed())
        for _ in range(2):
            await controller.apply_command(repo, uow, bench.sign(AdvanceRollout(
                rollout_id="ro-0001", force=True, reason="benchmark", requested_by="bench")))
        await session.commit()
    await engine.dispose()


def serve(database_url: str, cache_s: float) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(["-c", SERVER, database_url, str(port), str(cache_s)], f"{url}/healthz",
                        "the controller's HTTP API")
    return url, proc


def measure_scratch_controller(cache_s: float, measure_url: Callable[[str], list[str]]) -> list[str]:
    """The figures of a controller serving a freshly seeded database from its own process."""
    with postgres_server(Path(tempfile.mkdtemp(prefix="bench-pg-"))) as server_url:
        database_url = asyncio.run(create_database(server_url, "bench"))
        asyncio.run(seed(database_url))
        url, server = serve(database_url, cache_s)
        try:
            return measure_url(url)
        finally:
            server.terminate()
            server.wait(timeout=10)


def wrk(url: str, duration_s: float, connections: int, headers: dict[str, str]) -> tuple[float, float]:
    """(requests/s, p99 ms) of ``wrk --latency`` on ``url``; every answer must be 2xx or 3xx."""
    argv = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration_s:g}s", "--latency"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"wrk got error answers from {url}:\n{out}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if rate is None or p99 is None:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    return float(rate.group(1)), float(p99.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]


def measure_with_wrk(url: str, duration_s: float, connections: int) -> list[str]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (make bench does)")
    endpoint = f"{url}/v1/routes/{ROUTE}"
    etag = httpx.get(endpoint, headers=AUTH).headers["ETag"]
    wrk(endpoint, 1, connections, AUTH)  # warm-up: connections, cache
    lines = []
    for label, headers in (("wrk GET", AUTH), ("wrk GET If-None-Match", {**AUTH, "If-None-Match": etag})):
        rate, p99 = wrk(endpoint, duration_s, connections, headers)
        lines.append(f"{label}: {rate:,.0f} requests/s, p99 {p99:.2f} ms ({connections} connections, "
                     f"{duration_s:g} s)")
    return lines


async def bench_conditional(url: str, requests: int, concurrency: int) -> LatencyReport:
    """Like ``bench_http``, with the If-None-Match a polling router sends (304 answers)."""
    endpoint = f"{url}/v1/routes/{ROUTE}"
    etag = httpx.get(endpoint, headers=AUTH).headers["ETag"]
    samples: list[int] = []
    errors = 0
    remaining = iter(range(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for _ in remaining:
            before = time.perf_counter_ns()
            response = await client.get(endpoint, headers={**AUTH, "If-None-Match": etag})
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
    await bench_http(url, ROUTE, min(500, requests), concurrency, TOKEN)  # warm-up: connections, cache
    return [await bench_http(url, ROUTE, requests, concurrency, TOKEN),
            await bench_conditional(url, requests, concurrency)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running rollout-controller; default: start one on a scratch database")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--cache-s", type=float, default=1.0, help="the controller's DISTILLERY_ROLLOUT_ROUTE_CACHE_S")
    parser.add_argument("--wrk", action="store_true", help="load from wrk instead of the Python client")
    parser.add_argument("--duration-s", type=float, default=10.0, help="seconds per wrk run")
    args = parser.parse_args()

    def measure_url(url: str) -> list[str]:
        if args.wrk:
            return measure_with_wrk(url, args.duration_s, args.concurrency)
        reports = asyncio.run(measure(url, args.requests, args.concurrency))
        return [f"{args.requests:,} requests per run, {args.concurrency} in flight, route cache {args.cache_s:g} s",
                *(line for report in reports for line in report.lines())]

    lines = measure_url(args.url) if args.url else measure_scratch_controller(args.cache_s, measure_url)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

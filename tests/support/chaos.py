"""The chaos soak's driver: the whole loop with the sandboxes, while services are SIGKILLed,
PostgreSQL restarts once and bad records arrive; then what every consumer made of it.

It runs on the test session's broker (Apache Kafka in a container where a Docker engine
answers, else Tansu in memory; never killed: Tansu's data would go), its own embedded
PostgreSQL (the one it restarts; never a server it did not start), the two sandboxes and the
six services as `make demo` does (cli/.../demo). Kills come no faster than
a consumer group rejoins. The soak runs for ``DISTILLERY_SOAK_SECONDS``.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from bad_records import BadRecords
from infra_choice import BrokerHandle
from soak_checks import SoakFigures, check_soak

from distillery_cli.demo.plan import LANGFUSE_KEYS, DemoPlan
from distillery_cli.demo.processes import Child, ProcessGroup
from distillery_cli.demo.run import SERVICES
from distillery_cli.localstack.postgres import PostgresProcess, start_postgres
from distillery_cli.localstack.procs import free_port, wait_for_port
from distillery_cli.provision import create_topics, migrate_all
from distillery_runtime.auth import bearer_headers, local_token
from distillery_runtime.registration import registrations
from distillery_sandbox.golden import write_golden_set

DEFAULT_SOAK_SECONDS = 45.0
MAX_EVENT_BYTES = 200_000
"""The services' event limit in the soak: an oversized generation need not be megabytes."""
KILL_EVERY_S = (12.0, 18.0)
"""A consumer group rejoins in a few seconds here (3 s session timeout): never faster."""


def soak_seconds() -> float:
    return float(os.environ.get("DISTILLERY_SOAK_SECONDS") or DEFAULT_SOAK_SECONDS)


def soak_plan() -> DemoPlan:
    """The demo's loop, sized so that a dataset, a job and an evaluation can happen in minutes."""
    return DemoPlan(seed=11, history_calls=40, dataset_threshold=80, target_size=80, min_scored_calls=10,
                    eval_validation_limit=10, eval_golden_limit=10)


@dataclass
class Stack:
    home: Path
    broker: BrokerHandle
    pg: PostgresProcess
    pg_port: int
    langfuse_url: str
    openai_url: str
    routing_url: str
    group: ProcessGroup
    services: dict[str, Child] = field(default_factory=dict)
    argv_env: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class ChaosLog:
    kills: list[tuple[float, str]] = field(default_factory=list)
    postgres_restarts: int = 0
    unexpected_exits: list[str] = field(default_factory=list)
    # Exits with the runtime's "database unreachable" line (exit 2) while PostgreSQL was down:
    # the documented behaviour, which compose's restart policy (unless-stopped) answers.
    database_outage_exits: list[str] = field(default_factory=list)
    generations_simulated: int = 0


async def start_stack(home: Path, plan: DemoPlan, broker: BrokerHandle) -> Stack:
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)  # PostgreSQL runs as its own user when the tests run as root
    pg_port = free_port()
    pg = await asyncio.to_thread(start_postgres, home, pg_port)
    await create_topics(broker.bootstrap)
    await migrate_all(pg.url, only=list(SERVICES))
    group = ProcessGroup(home / "logs")
    lf_port, oa_port, routing_port = free_port(), free_port(), free_port()
    public, secret = LANGFUSE_KEYS
    group.distillery("sandbox-langfuse", ["sandbox", "langfuse", "--port", str(lf_port), "--calls",
                                          str(plan.history_calls), "--seed", str(plan.seed),
                                          "--keys", f"{public}:{secret}", "--log-level", "warning"], {})
    group.distillery("sandbox-openai", ["sandbox", "openai", "--port", str(oa_port), "--latency-scale",
                                        str(plan.latency_scale), "--time-scale", str(plan.job_time_scale),
                                        "--log-level", "warning"], {})
    for port, what in ((lf_port, "the Langfuse sandbox"), (oa_port, "the OpenAI sandbox")):
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port, 120, what)
    stack = Stack(home, broker, pg, pg_port, f"http://127.0.0.1:{lf_port}", f"http://127.0.0.1:{oa_port}",
                  f"http://127.0.0.1:{routing_port}", group)
    golden = home / "golden.jsonl"
    await asyncio.to_thread(write_golden_set, golden)
    common = {**plan.common_env(home, broker.bootstrap, pg.url), "DISTILLERY_MAX_EVENT_BYTES": str(MAX_EVENT_BYTES),
              "DISTILLERY_LOG_FORMAT": "console"}
    per_service = plan.service_env(stack.langfuse_url, stack.openai_url, routing_port, golden)
    # An 80-example student is undertrained (3-4 of 20 answers flagged): the soak is about
    # delivery, not quality, so its evaluator lets any student through and a rollout starts
    # under the kills, putting decisions and routing tables in the figures.
    per_service["evaluator"]["DISTILLERY_EVALUATOR_GATES__HALLUCINATION_MARGIN"] = "1"
    for name in SERVICES:
        stack.argv_env[name] = {**common, **per_service[name]}
        stack.services[name] = group.distillery(name, ["run", name], stack.argv_env[name])
    await _wait_registered(stack)
    return stack


async def _wait_registered(stack: Stack, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    wanted = {s.replace("-", "_") for s in SERVICES}
    while time.monotonic() < deadline:
        dead = [c for c in stack.services.values() if not c.alive]
        if dead:
            raise RuntimeError(f"{dead[0].name} exited at start:\n{dead[0].tail(30)}")
        found = {r.service.replace("-", "_") for r in registrations(stack.home)}
        if found >= wanted:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"services not ready after {timeout:.0f}s; logs in {stack.home / 'logs'}")


def stop_stack(stack: Stack) -> None:
    stack.group.stop_all()
    stack.pg.stop()  # the broker is the caller's


def kill_and_restart(stack: Stack, name: str) -> None:
    """SIGKILL ``name`` (no goodbye: no offsets committed, no transaction finished) and start it again."""
    child = stack.services[name]
    if child.alive:
        os.kill(child.process.pid, signal.SIGKILL)
        child.process.wait(timeout=30)
    stack.services[name] = stack.group.distillery(name, ["run", name], stack.argv_env[name])


async def restart_postgres(stack: Stack) -> None:
    """Stop the soak's own PostgreSQL (every connection drops), wait, start it again on its port."""
    await asyncio.to_thread(stack.pg.stop)
    await asyncio.sleep(3.0)
    stack.pg = await asyncio.to_thread(start_postgres, stack.home, stack.pg_port)


def check_no_unexpected_exit(stack: Stack, log: ChaosLog) -> None:
    """A service that died without being killed is a finding; it is restarted so the soak goes on."""
    for name, child in list(stack.services.items()):
        if not child.alive:
            tail = child.tail(8)
            if child.process.returncode == 2 and "DISTILLERY_DATABASE_URL" in tail:
                log.database_outage_exits.append(name)
            else:
                log.unexpected_exits.append(f"{name} exited {child.process.returncode}: {tail}")
            stack.services[name] = stack.group.distillery(name, ["run", name], stack.argv_env[name])


async def simulate_traffic(stack: Stack, calls: int) -> int:
    async with httpx.AsyncClient(base_url=stack.langfuse_url, timeout=30, auth=LANGFUSE_KEYS) as client:
        response = await client.post("/sandbox/v1/simulate", json={"calls": calls})
        response.raise_for_status()
    return calls


async def run_chaos(stack: Stack, seconds: float, bad: BadRecords, seed: int = 7) -> ChaosLog:
    """Kill a random service every 12-18 s, restart PostgreSQL once half-way, feed bad records
    at a quarter and at three quarters, and add live traffic, for ``seconds``."""
    rng = random.Random(seed)
    log = ChaosLog()
    started = time.monotonic()
    next_kill = started + rng.uniform(*KILL_EVERY_S)
    next_traffic = started
    plan = {"bad_1": started + seconds * 0.25, "postgres": started + seconds * 0.5,
            "bad_2": started + seconds * 0.75}
    while (now := time.monotonic()) < started + seconds:
        check_no_unexpected_exit(stack, log)
        if now >= next_traffic:
            log.generations_simulated += await simulate_traffic(stack, 6)
            next_traffic = now + 15.0
        for step in [s for s, at in plan.items() if now >= at]:
            del plan[step]
            if step == "postgres":
                await restart_postgres(stack)
                log.postgres_restarts += 1
            else:
                await bad.feed_round()
        if now >= next_kill:
            victim = rng.choice(SERVICES)
            kill_and_restart(stack, victim)
            log.kills.append((round(now - started, 1), victim))
            next_kill = time.monotonic() + rng.uniform(*KILL_EVERY_S)
        await asyncio.sleep(0.5)
    for step in list(plan):  # a very short soak still does each once
        if step == "postgres":
            await restart_postgres(stack)
            log.postgres_restarts += 1
        else:
            await bad.feed_round()
    return log


async def soak(home: Path, broker: BrokerHandle, seconds: float, settle_timeout: float = 120.0) -> SoakFigures:
    plan = soak_plan()
    began = time.monotonic()
    stack = await start_stack(home, plan, broker)
    started = time.monotonic()
    try:
        bad = BadRecords(stack.broker.bootstrap, stack.langfuse_url, LANGFUSE_KEYS, run=uuid.uuid4().hex[:8],
                         oversized_bytes=MAX_EVENT_BYTES + 50_000)
        log = await run_chaos(stack, seconds, bad)
        chaos_done = time.monotonic()
        figures = await check_soak(stack.broker.bootstrap, stack.pg.url, stack.routing_url, bad,
                                   settle_timeout=settle_timeout, api_headers=bearer_headers(local_token(home)))
        check_no_unexpected_exit(stack, log)
        figures.kills = [f"{t:.0f}s {name}" for t, name in log.kills]
        figures.postgres_restarts = log.postgres_restarts
        figures.unexpected_exits = log.unexpected_exits
        figures.database_outage_exits = log.database_outage_exits
        figures.logs = str(home / "logs")
        figures.timings = {"start": round(started - began), "chaos": round(chaos_done - started),
                           "settle_and_check": round(time.monotonic() - chaos_done)}
        return figures
    finally:
        await asyncio.to_thread(stop_stack, stack)

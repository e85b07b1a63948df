"""Benchmark of routing decisions: ``python -m distillery_router.bench [--url URL]``.

Times ``Router.choose`` in process, one call at a time with ``perf_counter_ns``, and,
given the rollout-controller's base URL, ``GET /v1/routes/{route}`` over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import httpx

from distillery_router.http_source import HttpTableSource
from distillery_router.router import Router
from distillery_router.table import Arm, RouteTable

TARGET_P99_NS = 20_000


@dataclass(frozen=True)
class LatencyReport:
    """What one benchmark measured; latencies in nanoseconds."""

    name: str
    operations: int
    errors: int
    per_second: float
    p50_ns: int
    p99_ns: int
    max_ns: int

    @classmethod
    def from_samples(cls, name: str, samples: list[int], elapsed_ns: int, errors: int = 0) -> LatencyReport:
        if not samples:
            raise ValueError(f"{name}: no successful operation to report on")
        ordered = sorted(samples)
        return cls(
            name=name,
            operations=len(samples) + errors,
            errors=errors,
            per_second=len(samples) / (elapsed_ns / 1e9),
            p50_ns=ordered[len(ordered) // 2],
            p99_ns=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
            max_ns=ordered[-1],
        )

    def lines(self) -> list[str]:
        return [
            f"{self.name}: {self.operations:,} operations, {self.errors:,} errors",
            f"  per second  {self.per_second:,.0f}",
            f"  p50         {self.p50_ns / 1000:,.2f} µs",
            f"  p99         {self.p99_ns / 1000:,.2f} µs",
            f"  max         {self.max_ns / 1000:,.2f} µs",
        ]


def sample_router(route: str) -> Router:
    """A three-arm table like the one a rollout at its 50% stage publishes."""
    arms = (
        Arm(name="candidate", model="ft:gpt-4o-mini:distillery:c2", provider="openai", weight=50),
        Arm(name="production", model="ft:gpt-4o-mini:distillery:c1", provider="openai", weight=40),
        Arm(name="teacher", model="gpt-4.1", provider="openai", weight=10),
    )
    table = RouteTable(route=route, version=1, updated_at=datetime.now(UTC), arms=arms)
    return Router([table])


def bench_choose(calls: int, route: str = "voice-agent") -> LatencyReport:
    """Latency of each ``choose`` and decisions per second, over ``calls`` distinct call ids."""
    if calls < 100:
        raise ValueError(f"--calls must be at least 100 for a p99, got {calls}")
    router = sample_router(route)
    call_ids = [str(uuid.uuid4()) for _ in range(calls)]
    choose = router.choose
    clock = time.perf_counter_ns
    for call_id in call_ids[:10_000]:
        choose(route, call_id)
    # Throughput without the timer's own cost, then each call timed on its own.
    start = clock()
    for call_id in call_ids:
        choose(route, call_id)
    elapsed = clock() - start
    samples = [0] * calls
    for index, call_id in enumerate(call_ids):
        before = clock()
        choose(route, call_id)
        samples[index] = clock() - before
    return LatencyReport.from_samples("choose() in process", samples, elapsed)


async def bench_http(base_url: str, route: str, requests: int, concurrency: int,
                     api_token: str | None = None) -> LatencyReport:
    """Latency of ``GET /v1/routes/{route}`` with ``concurrency`` requests in flight, sending the
    bearer token the controller requires."""
    url = HttpTableSource(base_url).url_for(route)
    headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
    samples: list[int] = []
    errors: list[str] = []
    remaining = iter(range(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        for _ in remaining:
            before = time.perf_counter_ns()
            try:
                response = await client.get(url)
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
                continue
            if response.status_code == httpx.codes.OK:
                samples.append(time.perf_counter_ns() - before)
            else:
                errors.append(f"HTTP {response.status_code}")

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=5.0, limits=limits, headers=headers) as client:
        start = time.perf_counter_ns()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter_ns() - start
    if not samples:
        raise RuntimeError(f"GET {url}: every request failed, e.g. {errors[0] if errors else 'none sent'}")
    return LatencyReport.from_samples(f"GET {url}", samples, elapsed, errors=len(errors))


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m distillery_router.bench", description=__doc__)
    parser.add_argument("--calls", type=int, default=200_000, help="choose() calls to time")
    parser.add_argument("--route", default="voice-agent")
    parser.add_argument("--url", help="rollout-controller base URL, e.g. http://localhost:8080")
    parser.add_argument("--requests", type=int, default=2_000, help="HTTP requests to time")
    parser.add_argument("--concurrency", type=int, default=8, help="HTTP requests in flight")
    parser.add_argument("--token", default=os.environ.get("DISTILLERY_API_TOKENS", "").split(",")[0] or None,
                        help="bearer token of the controller's API (default: the first of DISTILLERY_API_TOKENS)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        reports = [bench_choose(args.calls, args.route)]
        if args.url:
            reports.append(asyncio.run(bench_http(args.url, args.route, args.requests, args.concurrency,
                                                  args.token)))
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([asdict(report) for report in reports], indent=2))
        return 0
    for report in reports:
        print("\n".join(report.lines()))
    verdict = "met" if reports[0].p99_ns < TARGET_P99_NS else "MISSED"
    print(f"target p99 of choose() < {TARGET_P99_NS / 1000:g} µs: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: page load of the operator console in Chromium, p95 of 20 ``load`` events, for
the overview, a cycle and the first page of failing answers, over a read model holding a
cycle with a 100,000-example dataset and 10,000 evaluated answers (issue 18: under 300 ms).

Fills a fresh database (on DISTILLERY_TEST_DATABASE_URL's server, else an embedded
PostgreSQL) with the console's own store, serves the pages from a separate process (so the
browser does not share its event loop) behind the console's sign-in, as the service does, and
loads each page in Debian's Chromium through Playwright's client, signed in with a session
cookie as an operator's browser is (each load pays for checking it). Not a test.

    .venv/bin/python tests/bench/bench_console_pages.py [--loads 20] [--items 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))  # run as a script, not under pytest
sys.path.insert(0, str(ROOT / "services" / "console" / "tests"))

from bench_support import postgres_server, start_server  # noqa: E402
from browser import ARGS, CHROMIUM  # noqa: E402
from db_helpers import create_database, drop_database  # noqa: E402
from recorded_streams import CYCLE, RUN, T0, decisions, feed, item, recorded_cycle  # noqa: E402

from distillery_cli.localstack.procs import free_port  # noqa: E402

TARGET_MS = 300.0
TOKEN = "bench-token"


async def fill(url: str, items: int, examples: int) -> None:
    from distillery_console.adapters.store import SqlConsoleStore
    from distillery_console import SCHEMA
    from distillery_contracts.registry import DATASETS_BUILT, EVALUATIONS_ITEMS
    from distillery_contracts.samples import sample_dataset_built
    from distillery_runtime.db import create_engine, session_factory
    from distillery_runtime.migrations import migrate

    engine = create_engine(url, SCHEMA)
    await migrate(engine, SCHEMA, ROOT / "services/console/src/distillery_console/migrations")
    sessions = session_factory(engine)
    half = examples // 2
    counts = {"train_examples": examples - examples // 10, "validation_examples": examples // 10,
              "train_sessions": half, "validation_sessions": half // 10, "candidate_examples": examples * 2}
    async with sessions() as session:
        store = SqlConsoleStore(session)
        recorded = [(t, e) for t, e in recorded_cycle() if t != EVALUATIONS_ITEMS and t != DATASETS_BUILT]
        recorded.append((DATASETS_BUILT, sample_dataset_built(dataset_id="ds-0042", version=2, cycle_id=CYCLE,
                                                              counts=counts, built_at=T0)))
        await feed(store, recorded)
        for c in range(20):  # other cycles on the overview's timeline
            await feed(store, [(DATASETS_BUILT, sample_dataset_built(
                dataset_id=f"ds-old-{c}", version=100 + c, cycle_id=f"cycle-old-{c}", built_at=T0 - timedelta(days=c + 1)))])
        long = " and then some more words about the slots the clinic has" * 5
        for start in range(0, items, 1_000):
            batch = []
            for i in range(start, min(start + 1_000, items)):
                scored = item(i)
                answers = [a.model_copy(update={"text": (a.text or "") + long}) for a in scored.answers]
                batch.append((EVALUATIONS_ITEMS, scored.model_copy(update={"item_id": f"item-{i:05d}", "answers": answers})))
            await feed(store, batch)
        await session.commit()
    await engine.dispose()
    print(f"filled: {items} answers, a {examples}-example dataset, {len(decisions())} decisions, 21 cycles")


def serve(url: str, port: int) -> None:
    """The console's pages alone (no consumers), as the service routes them: behind sign-in."""
    import uvicorn

    from distillery_console import SCHEMA
    from distillery_console.config import ConsoleSettings
    from distillery_console.http import console_routes, signed_in
    from distillery_console.views import ConsoleViews, sql_stores
    from distillery_runtime.auth import BrowserSessions
    from distillery_runtime.clock import utc_now
    from distillery_runtime.db import create_engine, session_factory
    from distillery_runtime.health import build_app

    sessions = session_factory(create_engine(url, SCHEMA))
    views = ConsoleViews(sql_stores(sessions), calls_per_day=10_000, page_size=ConsoleSettings().page_size)
    pages = console_routes(views, lambda: None, utc_now, refresh_s=3600)  # type: ignore[arg-type,return-value]
    app = build_app("console", dict, signed_in(pages, BrowserSessions([TOKEN])), tokens=[TOKEN], public_routes=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def measure(base: str, loads: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    from distillery_runtime.auth import sign_in_link

    pages = {"overview": "/", "cycle": f"/cycles/{CYCLE}", "failing answers": f"/evaluations/{RUN}/answers?failing=1"}
    found: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(sign_in_link(base, TOKEN), wait_until="load")  # the session cookie every load sends
        if not page.url.rstrip("/") == base:
            raise SystemExit(f"signing in failed: the browser is at {page.url}")
        for name, path in pages.items():
            page.goto(base + path, wait_until="load")  # warm: templates compiled, connections open
            found[name] = []
            for _ in range(loads):
                page.goto(base + path, wait_until="load")
                timing = page.evaluate("(() => { const n = performance.getEntriesByType('navigation')[0];"
                                       " return [n.loadEventEnd, n.responseEnd - n.requestStart]; })()")
                found[name].append(timing[0])
                found.setdefault(f"{name} (server)", []).append(timing[1])
        browser.close()
    return found


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp, postgres_server(Path(tmp) / "pg") as server:
        url = asyncio.run(create_database(server, prefix="bench"))
        try:
            asyncio.run(fill(url, args.items, args.examples))
            port = free_port()
            proc = start_server([__file__, "--serve", url, "--port", str(port)], f"http://127.0.0.1:{port}/healthz",
                                "the console's pages")
            try:
                found = measure(f"http://127.0.0.1:{port}", args.loads)
            finally:
                proc.terminate()
                proc.wait(10)
        finally:
            asyncio.run(drop_database(url))
    for name, values in found.items():
        if name.endswith("(server)"):
            print(f"  {name}: request to response end p50 {statistics.median(values):.0f} ms, p95 {p95(values):.0f} ms")
            continue
        verdict = "met" if p95(values) < TARGET_MS else "NOT met"
        print(f"console {name}: load p50 {statistics.median(values):.0f} ms, p95 {p95(values):.0f} ms "
              f"over {len(values)} loads (target p95 < {TARGET_MS:.0f} ms: {verdict})")


if __name__ == "__main__":
    main()

"""Benchmark: realistic generations through the cleaner service, real broker and database.

    .venv/bin/python tests/bench/bench_cleaner.py [--generations 100000] [--batch-size 1000]

Simulates clinic calls with the sandbox workload (``tests/support/cleaner_workload.py``:
typical defect rates, several turns, about 6 KB per generation), publishes them to
``traces.raw`` on a fresh Tansu broker, then measures in the same run:

1. the raw consume-and-decode rate: one consumer reading every message and decoding it
   into its event exactly as the runtime does, doing nothing else;
2. the cleaner's rate: ``python -m distillery_cleaner`` as its own process, from the start of
   its first transaction to the start of its last (the generations in between over the time
   between, from the transactions' own timestamps), once every generation has a verdict
   published (inbox full, outbox drained), in its default configuration (named-entity detection
   on, personal-data worker processes ``auto``: one per core, up to three) and again with
   ``pii.ner`` false, each on a fresh database, each with the share of distinct texts its
   cleaning cache answered, and the share of the others' distinct sentences the named-entity
   model knew from an earlier batch (it reads the rest);
3. with ``--cpu-two-instances``, two processes sharing the group, NER off: their
   CPU-seconds per generation against one instance's (the target is at most 1.15x);
4. with ``--pii-processes N``, the default configuration again with N personal-data worker
   processes beside the cleaner (``DISTILLERY_CLEANER_PII_PROCESSES``; 0: all in one process).

The sandbox shares some caller lines between calls, and many more of their sentences; the
benchmark makes each sentence of a call's lines its own (``--shared-caller-lines`` keeps them), so
neither the text caches nor the named-entity model's sentence cache can hide the model's cost.

PostgreSQL is ``DISTILLERY_TEST_DATABASE_URL``'s server when set (a fresh database is
created on it), else an embedded server started here. Not a test: nothing asserts; it prints.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from distillery_cleaner.config import pii_workers
from distillery_cli.localstack.procs import free_port
from distillery_contracts.envelope import Envelope
from distillery_contracts.registry import TRACES_RAW, all_topic_specs, get_topic
from distillery_contracts.traces import TraceCaptured
from distillery_contracts.upcasting import decode_event
from distillery_runtime.kafka import ensure_topics

sys.path.insert(0, str(Path(__file__).parents[1] / "support"))  # run as a script, not under pytest

import cleaner_profile  # noqa: E402
from bench_support import postgres_facts, scratch_stack, stop_processes  # noqa: E402
from cleaner_workload import CLINIC_PHONE, sandbox_traces, with_unique_caller_lines  # noqa: E402
from db_helpers import create_database, drop_database  # noqa: E402


def cleaner_config_file(directory: Path, ner: bool = True) -> Path:
    path = directory / f"cleaner{'' if ner else '-no-ner'}.json"
    path.write_text(json.dumps({"pii": {"allow": [CLINIC_PHONE], **({} if ner else {"ner": False})}}))
    return path


METRICS_TOKEN = "bench-cleaner-metrics"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux)."""
    return _cpu_of(Path(f"/proc/{pid}/stat").read_text())


def children_of(pid: int) -> list[int]:
    """The live child processes of ``pid`` (a cleaner's personal-data workers), in pid order."""
    # Each thread lists the children it started; a worker pool starts them from a worker thread.
    return sorted({int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in _read(task / "children").split()})


def children_cpu_seconds(pid: int) -> float:
    """CPU time of the live child processes of ``pid`` (a cleaner's personal-data workers)."""
    return sum(_cpu_of(stat) for stat in (_read(Path(f"/proc/{c}/stat")) for c in children_of(pid)) if stat)


def _cpu_of(stat: str) -> float:
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _read(path: Path) -> str:
    """The file's text, or "" when its thread or process ended meanwhile."""
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def cpu_when_serving(proc: subprocess.Popen, port: int, pii_processes: int) -> float:
    """The CPU-seconds ``proc`` spent starting (imports, models), read once its HTTP server answers,
    and its personal-data workers theirs, once its /metrics says they are ready."""
    while proc.poll() is None:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            started = cpu_seconds(proc.pid)
            while pii_processes and metric(port, "distillery_cleaner_pii_processes") < pii_processes:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
            return started + children_cpu_seconds(proc.pid)
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("a cleaner process exited early; see its log (--log)")


def metrics_text(port: int) -> str:
    """The cleaner's /metrics, as Prometheus text."""
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10,
                         headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    response.raise_for_status()
    return response.text


def metric(port: int, name: str) -> float:
    """The value of the unlabelled metric ``name`` on the cleaner's /metrics."""
    for line in metrics_text(port).splitlines():
        if line.startswith(f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def cache_counts(port: int, cache: str = "text") -> tuple[float, float]:
    """(hits, misses) of one of the cleaner's caches (``text`` or ``sentence``), read from its /metrics."""
    text = metrics_text(port)
    counts = {"hit": 0.0, "miss": 0.0}
    for line in text.splitlines():
        if line.startswith(f"distillery_cleaner_{cache}_cache_total{{"):
            counts['hit' if 'result="hit"' in line else 'miss'] += float(line.rsplit(" ", 1)[1])
    return counts["hit"], counts["miss"]


async def publish(bootstrap: str, traces: list[TraceCaptured]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False,
                                linger_ms=20, max_batch_size=1 << 20, max_request_size=8 << 20)
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for trace in traces:
            envelope = Envelope.new(event_type=trace.event_type, schema_version=trace.schema_version,
                                    producer="bench/1", event_id=trace.event_id())
            pending.append(await producer.send(TRACES_RAW, trace.model_dump_json().encode(),
                                               key=trace.partition_key().encode(), headers=envelope.to_headers()))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def consume_and_decode(bootstrap: str, expected: int) -> float:
    """Seconds to read and decode every message once, as the runtime decodes them."""
    topic = get_topic(TRACES_RAW)
    consumer = AIOKafkaConsumer(TRACES_RAW, bootstrap_servers=bootstrap, group_id=f"bench-raw-{uuid.uuid4().hex}",
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                max_partition_fetch_bytes=8 << 20, fetch_max_bytes=64 << 20)
    await consumer.start()
    try:
        seen, started = 0, None
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=1000, max_records=1000)
            for records in batch.values():
                if started is None:
                    started = time.perf_counter()
                for record in records:
                    decode_event(topic, Envelope.from_headers(record.headers), record.value)
                    seen += 1
        return time.perf_counter() - (started or time.perf_counter())
    finally:
        await consumer.stop()


async def wait_for_cleaner(database_url: str, expected: int,
                           procs: list[subprocess.Popen]) -> tuple[float, float]:
    """(first applied, all done) as perf_counter times: inbox full and outbox drained.

    Counting the inbox's rows and looking for outbox rows cost the database real CPU over
    hundreds of thousands of rows (the outbox's deleted rows included), which it would take
    from the cleaner: until the server's own count of rows inserted into the inbox (a hint:
    it also counts rolled-back rows, and a backend may hold its counts back for seconds) nears
    ``expected``, only that is read every 2 s, and the rows counted every tenth time. A run of
    fewer than 50,000 generations is counted every time."""
    first = None
    for poll in itertools.count():
        if any(proc.poll() is not None for proc in procs):
            raise SystemExit("a cleaner process exited early; see its log (--log)")
        try:
            conn = await asyncpg.connect(database_url)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        try:
            inserted = await conn.fetchval(
                "select n_tup_ins from pg_stat_user_tables where schemaname = 'cleaner' and relname = 'inbox'") or 0
            applied, waiting = inserted, 1
            if expected < 50_000 or inserted >= 0.97 * expected or poll % 10 == 0:
                applied = await conn.fetchval("select count(*) from cleaner.inbox")
                waiting = await conn.fetchval("select count(*) from (select id from cleaner.outbox order by id limit 1) o")
        except asyncpg.UndefinedTableError:
            applied, waiting = 0, 1
        finally:
            await conn.close()
        now = time.perf_counter()
        if applied and first is None:
            first = now
        if applied >= expected and waiting == 0:
            return first or now, now
        await asyncio.sleep(0.25 if first is None or max(applied, inserted) >= 0.97 * expected else 2.0)
    raise AssertionError("unreachable")


async def applied_rate(database_url: str) -> tuple[float, float] | None:
    """(generations/s, seconds) from the start of the cleaner's first transaction to the start
    of its last, over the generations the transactions in between applied; None with fewer
    than two transactions.

    Each transaction stamps the inbox rows it writes with its start (``applied_at``), so this
    needs no clock of the benchmark's: the polls in :func:`wait_for_cleaner`, 2 s apart, only
    say when to look, where timing by them was off by up to a poll at the end and a whole
    first batch at the start (a third of a 3,000-generation run).
    """
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("""
            with batches as (select applied_at, count(*) as n from cleaner.inbox group by applied_at)
            select count(*) as transactions, sum(n) as applied, min(applied_at) as first, max(applied_at) as last,
                   (select n from batches order by applied_at desc limit 1) as in_last
            from batches""")
    finally:
        await conn.close()
    if row["transactions"] < 2:
        return None
    seconds = (row["last"] - row["first"]).total_seconds()
    return int(row["applied"] - row["in_last"]) / seconds, seconds


async def cleaner_rate(database_url: str, expected: int, first: float, done: float) -> tuple[float, float]:
    """(generations/s, seconds) of a finished run: :func:`applied_rate`, or with a single
    transaction the polls' own span (first verdict seen → all done), which must be long enough
    to mean something."""
    timed = await applied_rate(database_url)
    if timed is not None:
        return timed
    if done - first < 0.5:  # the first look already found it done: nothing was timed
        raise SystemExit(f"{expected:,} generations were cleaned between two looks at the database, too fast "
                         "to time; run with --generations 2000 or more")
    return expected / (done - first), done - first


async def outcome_counts(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        accepted = await conn.fetchval("select count(*) from cleaner.examples where retracted_at is null")
        return {"accepted (indexed)": accepted}
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generations", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000, help="Consumer batch size of the cleaner.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", type=Path, metavar="PREFIX",
                        help="Sample each run's (first) cleaner with py-spy, start-up excluded, every thread (NER off: the one holding the interpreter lock); print "
                        "where its CPU went and keep the raw stacks in PREFIX-<run>.txt (tests/bench/cleaner_profile.py).")
    parser.add_argument("--log", type=Path, help="Keep the cleaner's log here.")
    parser.add_argument("--instances", type=int, default=1, help="Cleaner processes sharing the group.")
    parser.add_argument("--shared-caller-lines", action="store_true",
                        help="Keep the sandbox's caller lines, some shared between calls "
                             "(default: each sentence its call's own).")
    parser.add_argument("--without-ner-only", action="store_true",
                        help="Skip the default (named-entity) run: a quick look at the rest of the cleaner's cost.")
    parser.add_argument("--with-ner-only", action="store_true",
                        help="Skip the run without named-entity detection (make bench times it on more "
                        "generations, in a run of its own: its short windows at 3,000 read high).")
    parser.add_argument("--pii-processes", type=int, default=None,
                        help="Also run the default configuration with DISTILLERY_CLEANER_PII_PROCESSES=N: worker "
                        "processes finding personal data beside each cleaner (their CPU counted with it); "
                        "0: the cleaner alone, in one process.")
    parser.add_argument("--cpu-two-instances", action="store_true",
                        help="Also run two NER-off instances and compare their CPU-seconds per generation.")
    args = parser.parse_args()
    if args.with_ner_only and (args.without_ner_only or args.cpu_two_instances):
        parser.error("--with-ner-only skips the runs without named-entity detection that "
                     "--without-ner-only and --cpu-two-instances ask for")
    with scratch_stack("bench-cleaner-") as (home, broker, server_url):
        print(asyncio.run(postgres_facts(server_url)))
        run(args, home, broker.bootstrap, lambda: asyncio.run(create_database(server_url, "bench_cleaner")))


def run(args: argparse.Namespace, home: Path, bootstrap: str, new_database: Callable[[], str]) -> None:
    started = time.perf_counter()
    traces: list[TraceCaptured] = []
    for trace, _, _ in sandbox_traces(calls=args.generations, seed=args.seed):
        traces.append(trace)
        if len(traces) >= args.generations:
            break
    if not args.shared_caller_lines:
        traces = [with_unique_caller_lines(t) for t in traces]
    sizes = [len(t.model_dump_json()) for t in traces[:2000]]
    print(f"generated {len(traces):,} generations in {time.perf_counter() - started:.0f}s, "
          f"mean {sum(sizes) / len(sizes) / 1024:.1f} KB as JSON")
    asyncio.run(ensure_topics(bootstrap, all_topic_specs()))
    print(f"published in {asyncio.run(publish(bootstrap, traces)):.1f}s")
    expected = len(traces)
    del traces
    raw = asyncio.run(consume_and_decode(bootstrap, expected))
    print(f"raw consume-and-decode: {expected / raw:,.0f} generations/s ({raw:.1f}s)", flush=True)
    if not args.without_ner_only:
        default = run_cleaner(args, home, bootstrap, new_database(), expected, ner=True, instances=args.instances)
        print(f"cleaner:                {default.rate:,.0f} generations/s ({default.seconds:.1f}s, "
              f"{args.instances} process(es) with {default.pii_processes} personal-data processes each (auto), "
              f"batch size {args.batch_size}); {default.counts}; "
              f"NER cache hit rate {default.hit_rate:.1%}, sentences {default.sentence_hit_rate:.1%}; "
              f"{default.cpu_ms:.2f} ms CPU per generation", flush=True)
        if args.pii_processes is not None:
            pooled = run_cleaner(args, home, bootstrap, new_database(), expected, ner=True,
                                 instances=args.instances, pii_processes=args.pii_processes)
            print(f"cleaner with {args.pii_processes} personal-data processes: {pooled.rate:,.0f} generations/s "
                  f"({pooled.seconds:.1f}s, {args.instances} process(es) with their workers); {pooled.counts}; "
                  f"NER cache hit rate {pooled.hit_rate:.1%}, sentences {pooled.sentence_hit_rate:.1%}; "
                  f"{pooled.cpu_ms:.2f} ms CPU per generation", flush=True)
    if args.with_ner_only:
        return
    off = run_cleaner(args, home, bootstrap, new_database(), expected, ner=False, instances=1)
    print(f"cleaner without named-entity detection: {off.rate:,.0f} generations/s ({off.seconds:.1f}s, 1 process); "
          f"{off.counts}; cache hit rate {off.hit_rate:.1%}; {off.cpu_ms:.2f} ms CPU per generation", flush=True)
    if args.cpu_two_instances:
        two = run_cleaner(args, home, bootstrap, new_database(), expected, ner=False, instances=2)
        print(f"two instances: {two.cpu_ms / off.cpu_ms:.2f}x one instance's CPU-seconds per generation "
              f"({two.cpu_ms:.2f} vs {off.cpu_ms:.2f} ms, NER off; {two.rate:,.0f} generations/s together)")


@dataclass(frozen=True)
class CleanerRun:
    rate: float
    seconds: float
    cpu_ms: float
    """CPU milliseconds per generation, all instances together, from serving to the last verdict
    (start-up excluded, as from the rate)."""
    hit_rate: float
    sentence_hit_rate: float
    """Of the distinct sentences of new texts, the share whose people were known (NER on)."""
    counts: dict[str, int]
    pii_processes: int
    """Personal-data worker processes beside each instance."""


def run_cleaner(args: argparse.Namespace, home: Path, bootstrap: str, database_url: str, expected: int, *,
                ner: bool, instances: int, pii_processes: int | None = None) -> CleanerRun:
    """The cleaner's run; ``pii_processes`` None is its default (``auto``)."""
    workers = pii_workers("auto" if pii_processes is None else pii_processes, ner)
    ports = [free_port() for _ in range(instances)]
    env = {**os.environ, "DISTILLERY_KAFKA_BOOTSTRAP": bootstrap, "DISTILLERY_DATABASE_URL": database_url,
           "DISTILLERY_CONSUMER_BATCH_SIZE": str(args.batch_size),
           "DISTILLERY_LOG_LEVEL": os.environ.get("BENCH_CLEANER_LOG_LEVEL", "WARNING"),
           "DISTILLERY_CLEANER_CONFIG_FILE": str(cleaner_config_file(home, ner)), "DISTILLERY_API_TOKENS": METRICS_TOKEN,
           # Each run reads traces.raw from the start: the same configuration would otherwise resume
           # its group where the previous run left it, at the end.
           "DISTILLERY_CLEANER_CONSUMER_GROUP": f"bench-cleaner-{uuid.uuid4().hex[:8]}",
           "DISTILLERY_CLEANER_PII_PROCESSES": "auto" if pii_processes is None else str(pii_processes)}
    log = (args.log or home / "cleaner.log").open("ab")
    procs = [subprocess.Popen([sys.executable, "-m", "distillery_cleaner"],
                              env={**env, "DISTILLERY_HTTP_PORT": str(port)}, stdout=log, stderr=log)
             for port in ports]
    sampler, samples = None, None
    try:
        started_cpu = [cpu_when_serving(proc, port, workers) for proc, port in zip(procs, ports, strict=True)]
        if args.profile:
            run_name = f"{'ner' if ner else 'no-ner'}-{instances}x" + (f"-{workers}pii" if workers else "")
            samples = args.profile.with_name(f"{args.profile.name}-{run_name}.txt")
            samples.parent.mkdir(parents=True, exist_ok=True)
            sampler = cleaner_profile.start(procs[0].pid, samples, lock_holder=not ner)
        first, done = asyncio.run(wait_for_cleaner(database_url, expected, procs))
        cpu = sum(cpu_seconds(proc.pid) + children_cpu_seconds(proc.pid) for proc in procs) - sum(started_cpu)
        hits, misses = map(sum, zip(*(cache_counts(port) for port in ports), strict=True))
        known, read = map(sum, zip(*(cache_counts(port, "sentence") for port in ports), strict=True))
        if sampler is not None and samples is not None:
            cleaner_profile.stop(sampler)
            sampler = None
            print(f"where the cleaner's CPU went ({'NER on' if ner else 'NER off'}; py-spy, "
                  f"{'every thread' if ner else 'the thread holding the interpreter lock'}; "
                  f"stacks in {samples}):\n{cleaner_profile.table(samples.read_text())}", flush=True)
    finally:
        if sampler is not None:
            sampler.kill()
        stop_processes(procs)
        log.close()
    try:
        rate, seconds = asyncio.run(cleaner_rate(database_url, expected, first, done))
        return CleanerRun(rate, seconds, cpu / expected * 1000, hits / max(1.0, hits + misses),
                          known / max(1.0, known + read), asyncio.run(outcome_counts(database_url)), workers)
    finally:  # each run's database is its own: none is left on the server
        asyncio.run(drop_database(database_url))


if __name__ == "__main__":
    main()

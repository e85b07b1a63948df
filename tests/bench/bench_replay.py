"""Benchmark: a quarter's replay, end to end, from a new cleaner version's start to DatasetBuilt.

    .venv/bin/python tests/bench/bench_replay.py [--generations 300000] [--target-size 100000] [--no-ner] [--cleaners 1] [--keep] [--statements]

The throughput issue's figure: 300,000 generations (about 2 GB) replayed from ``traces.raw``
under a new cleaner version to a published 100,000-example dataset in under 3 minutes, with
every service's peak RSS under 1 GiB. On a fresh Tansu broker and a fresh database (on
DISTILLERY_TEST_DATABASE_URL's server, else an embedded PostgreSQL), outside the measurement:
topics created, the cleaner's and dataset-builder's schemas migrated, the sandbox workload's
generations (``bench_cleaner.py``'s, each sentence of a call's caller lines its own) simulated
and published to ``traces.raw``, and the dataset-builder started as its own process.

The measured part follows the README's replay steps. The clock starts when the cleaner, with
a configuration of its own (so a new version, reading ``traces.raw`` from the beginning), is
started as its own process; once every generation has a verdict published and the
dataset-builder has stored every one (its consumer groups caught up), the benchmark asks for a
build of ``--target-size`` examples as ``distillery dataset build`` does; the clock stops when
DatasetBuilt is read back from ``datasets.built`` (so after the broker acknowledged it). The
dataset-builder's own threshold is out of reach and its schedule off, so the one build is over
the whole replay, not over the first examples stored. The build command wakes the builder
once its transaction has committed; the builder checks its triggers at its default interval
(30 s), each check a count of the examples stored since the last build, which over a replay's
table cost the server more CPU than any one of the cleaner's statements when it ran every 5 s.
Each service's peak RSS is its process's VmHWM, read before it is stopped, and each of a cleaner's
personal-data worker processes (NER on: ``cleaner/pii-N``) is listed as one of its own; a cleaner's CPU
includes its workers'.

Every generation is simulated (450-850 a second on a shared 2-core machine, so 6-11 minutes for
300,000): copies of a smaller pool would be near-duplicates, which the cleaner rejects, and so
would not measure a replay. Not a test: nothing asserts; it prints.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer

from distillery_cli.localstack.procs import free_port
from distillery_cli.provision import migrate_all
from distillery_cli.topics import group_lag, partitions
from distillery_contracts.commands import BuildDataset
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.envelope import Envelope
from distillery_contracts.registry import (
    COMMANDS_DATASET,
    DATASETS_BUILT,
    EXAMPLES_ACCEPTED,
    EXAMPLES_REJECTED,
    all_topic_specs,
    get_topic,
)
from distillery_contracts.upcasting import decode_event
from distillery_dataset_builder.app import NAME as BUILDER
from distillery_runtime.kafka import ensure_topics, publish_events
from distillery_runtime.kafka_clients import kafka_reader

sys.path.insert(0, str(Path(__file__).parents[1] / "support"))  # run as a script, not under pytest

from bench_cleaner import (  # noqa: E402
    children_cpu_seconds,
    children_of,
    cleaner_config_file,
    cleaner_rate,
    cpu_seconds,
    publish,
    wait_for_cleaner,
)
from bench_support import (  # noqa: E402
    postgres_facts,
    reset_statement_costs,
    scratch_stack,
    start_server,
    statement_costs,
    stop_processes,
)
from cleaner_workload import sandbox_traces, with_unique_caller_lines  # noqa: E402
from db_helpers import create_database, drop_database, fetch_rows  # noqa: E402

CHUNK = 5_000
"""Generations simulated, then published, at a time: 300,000 at once would not fit in memory."""

TOKEN = "bench-replay"
"""The services' bearer token: given, so that neither writes a key file of its own."""
TARGET_S = 180.0
"""The issue's target for 300,000 generations."""


@dataclass(frozen=True)
class Replay:
    """Seconds from the cleaner's start (the clock) to each milestone, and what came out."""

    first_verdict_s: float
    cleaned_s: float
    """Every generation has a verdict and every verdict is published."""
    cleaner_rate: float
    """Generations a second from the cleaner's first transaction to its last (``cleaner_rate``)."""
    stored_s: float
    """The dataset-builder has stored (or retracted) every verdict: the build is requested."""
    built_s: float
    accepted: int
    """ExampleAccepted events the cleaner published (the rest of the verdicts rejected)."""
    dataset: DatasetBuilt
    peak_rss_mib: dict[str, float]
    cpu_s: dict[str, float]
    """CPU-seconds each part spent from the clock's start to DatasetBuilt."""


def machine_cpu_s() -> float:
    """CPU-seconds every process of the machine has spent (Linux /proc/stat: all but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def cpu_now(pids: dict[str, int]) -> dict[str, float]:
    """CPU-seconds so far of each named process with its live children (a cleaner's personal-data
    workers), of PostgreSQL's and of the whole machine."""
    return {**{name: cpu_seconds(pid) + children_cpu_seconds(pid) for name, pid in pids.items()},
            "PostgreSQL": postgres_cpu_s(), "machine": machine_cpu_s()}


def postgres_cpu_s() -> float:
    """CPU-seconds of the PostgreSQL processes running now (the services' pooled backends stay)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "comm").read_text().strip() == "postgres":
                total += cpu_seconds(int(proc.name))
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended between the two reads
    return total


def pii_workers_of(pid: int) -> list[int]:
    """A cleaner's personal-data worker processes: its spawned children (not multiprocessing's
    resource tracker, its other child)."""
    return [child for child in children_of(pid) if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


async def simulate_and_publish(bootstrap: str, generations: int, seed: int) -> tuple[float, float, float]:
    """(seconds simulating, seconds publishing, mean bytes of a generation as JSON)."""
    started, publishing, mean_bytes = time.perf_counter(), 0.0, 0.0
    traces = itertools.islice((trace for trace, _, _ in sandbox_traces(calls=generations, seed=seed)), generations)
    while chunk := [with_unique_caller_lines(t) for t in itertools.islice(traces, CHUNK)]:
        if not mean_bytes:
            mean_bytes = sum(len(t.model_dump_json()) for t in chunk) / len(chunk)
        publishing += await publish(bootstrap, chunk)
    return time.perf_counter() - started - publishing, publishing, mean_bytes


async def prepare(args: argparse.Namespace, bootstrap: str, database_url: str) -> None:
    await ensure_topics(bootstrap, all_topic_specs())
    await migrate_all(database_url, ["cleaner", BUILDER])
    simulating, publishing, mean_bytes = await simulate_and_publish(bootstrap, args.generations, args.seed)
    print(f"simulated {args.generations:,} generations in {simulating:.0f} s and published them in "
          f"{publishing:.0f} s (mean {mean_bytes / 1024:.1f} KB as JSON, "
          f"~{args.generations * mean_bytes / 1e6:,.0f} MB in traces.raw; not measured)", flush=True)


def service_env(home: Path, bootstrap: str, database_url: str, **settings: object) -> dict[str, str]:
    return {**os.environ, "DISTILLERY_KAFKA_BOOTSTRAP": bootstrap, "DISTILLERY_DATABASE_URL": database_url,
            "DISTILLERY_HOME": str(home), "DISTILLERY_API_TOKENS": TOKEN, "DISTILLERY_LOG_LEVEL": "WARNING",
            **{f"DISTILLERY_{name.upper()}": str(value) for name, value in settings.items()}}


def check_running(procs: dict[str, subprocess.Popen]) -> None:
    for name, proc in procs.items():
        if proc.poll() is not None:
            raise SystemExit(f"the {name} exited early ({proc.returncode}); see its log (--keep)")


async def stored_every_verdict(bootstrap: str, procs: dict[str, subprocess.Popen]) -> int:
    """Waits until the dataset-builder's groups on both verdict topics have no lag; returns the
    accepted examples published."""
    while True:
        check_running(procs)
        lag, accepted = 0, 0
        for topic, stream in ((EXAMPLES_ACCEPTED, "accepted"), (EXAMPLES_REJECTED, "rejected")):
            parts = await partitions(bootstrap, topic)
            lag += (await group_lag(bootstrap, f"distillery.{BUILDER}.{stream}", topic, parts)).lag
            if topic == EXAMPLES_ACCEPTED:
                accepted = sum(p.end - p.start for p in parts)
        if lag == 0:
            return accepted
        await asyncio.sleep(0.5)


async def next_dataset_built(reader: AIOKafkaConsumer, database_url: str, procs: dict[str, subprocess.Popen]) -> DatasetBuilt:
    topic = get_topic(DATASETS_BUILT)
    while True:
        check_running(procs)
        for records in (await reader.getmany(timeout_ms=500)).values():
            for record in records:
                event = decode_event(topic, Envelope.from_headers(record.headers), record.value)
                if isinstance(event, DatasetBuilt):
                    return event
        failed = await fetch_rows(database_url, f"select reason from {BUILDER.replace('-', '_')}.build_failures")
        if failed:
            raise SystemExit(f"the build failed: {failed[0]['reason']}")


async def measure(args: argparse.Namespace, home: Path, bootstrap: str, database_url: str, broker_pid: int) -> Replay:
    builder_port = free_port()
    cleaners = ["cleaner"] if args.cleaners == 1 else [f"cleaner-{i}" for i in range(1, args.cleaners + 1)]
    logs = {name: (home / f"{name}.log").open("ab") for name in (*cleaners, BUILDER)}
    builder = start_server(
        ["-m", "distillery_dataset_builder"], f"http://127.0.0.1:{builder_port}/readyz", f"the {BUILDER}",
        tries=1200, stdout=logs[BUILDER], stderr=logs[BUILDER],
        env=service_env(home, bootstrap, database_url, http_port=builder_port, dataset_schedule="off",
                        dataset_build_threshold=args.generations + 1,
                        dataset_target_size=args.target_size))
    procs = {BUILDER: builder}
    try:
        async with kafka_reader(bootstrap, DATASETS_BUILT, auto_offset_reset="earliest") as reader:
            started = time.perf_counter()
            cpu_before = cpu_now({BUILDER: builder.pid, "Tansu": broker_pid})
            config_file = cleaner_config_file(home, ner=not args.no_ner)
            for name in cleaners:  # the same configuration: one consumer group, traces.raw's partitions shared
                procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "distillery_cleaner"], stdout=logs[name], stderr=logs[name],
                    env=service_env(home, bootstrap, database_url, http_port=free_port(),
                                    cleaner_config_file=config_file))
            first, cleaned = await wait_for_cleaner(database_url, args.generations, [procs[n] for n in cleaners])
            rate, _ = await cleaner_rate(database_url, args.generations, first, cleaned)
            accepted = await stored_every_verdict(bootstrap, procs)
            stored = time.perf_counter()
            await publish_events(bootstrap, COMMANDS_DATASET,
                                 [BuildDataset(target_size=args.target_size, requested_by="bench-replay")],
                                 producer="bench/1")
            dataset = await next_dataset_built(reader, database_url, procs)
            built = time.perf_counter()
            cpu = {name: seconds - cpu_before.get(name, 0.0)  # the cleaner started with the clock
                   for name, seconds in cpu_now({**{n: procs[n].pid for n in cleaners}, BUILDER: builder.pid,
                                                 "Tansu": broker_pid}).items()}
        rss = {name: peak_rss_mib(proc.pid) for name, proc in procs.items()}
        for name in cleaners:  # each of its personal-data worker processes is a process of the service too
            rss |= {f"{name}/pii-{i}": peak_rss_mib(pid) for i, pid in enumerate(pii_workers_of(procs[name].pid), 1)}
    finally:
        stop_processes(list(procs.values()))
        for log in logs.values():
            log.close()
    return Replay(first - started, cleaned - started, rate, stored - started, built - started, accepted, dataset,
                  rss, cpu)


def report(args: argparse.Namespace, r: Replay, broker_rss_mib: float) -> None:
    examples = r.dataset.counts.train_examples + r.dataset.counts.validation_examples
    n = args.generations
    print(f"replay: {n:,} generations → DatasetBuilt ({examples:,} examples) in {r.built_s:.1f} s "
          f"(target {TARGET_S * n / 300_000:.0f} s, {TARGET_S:.0f} s a 300,000; NER {'off' if args.no_ner else 'on'})")
    instances = f" ({args.cleaners} instances, one consumer group)" if args.cleaners > 1 else ""
    print(f"  cleaner{instances}: every verdict published {r.cleaned_s:.1f} s after its start, {n / r.cleaned_s:,.0f} "
          f"generations/s; {r.cleaner_rate:,.0f}/s from its first transaction to its last "
          f"({r.first_verdict_s:.1f} s of start-up to its first verdict)")
    print(f"  accepted: {r.accepted:,} of {n:,} generations ({r.accepted / n:.1%}); "
          f"{r.dataset.counts.candidate_examples:,} candidates for the dataset")
    print(f"  dataset-builder had stored every verdict {r.stored_s - r.cleaned_s:.1f} s later; "
          f"build requested → DatasetBuilt {r.built_s - r.stored_s:.1f} s")
    for name, mib in r.peak_rss_mib.items():
        print(f"peak RSS {name}: {mib:,.0f} MiB")
    cpus = os.cpu_count() or 1
    print("CPU per generation, clock start to DatasetBuilt (the cleaner's start-up and personal-data workers "
          "included): " + ", ".join(f"{name} {seconds / n * 1000:.2f} ms" for name, seconds in r.cpu_s.items())
          + f"; the machine's {cpus} CPUs give {cpus * r.built_s / n * 1000:.2f} ms")
    print(f"Tansu broker (memory storage, not a service): {broker_rss_mib:,.0f} MiB at its peak")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generations", type=int, default=300_000)
    parser.add_argument("--target-size", type=int, default=100_000, help="Examples in the dataset.")
    parser.add_argument("--no-ner", action="store_true", help="The cleaner's pii.ner false (no named-entity model).")
    parser.add_argument("--cleaners", type=int, default=1,
                        help="Cleaner processes sharing the replay (traces.raw's partitions split between them).")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="Keep the home directory (logs) and the database.")
    parser.add_argument("--statements", action="store_true",
                        help="Print the statements PostgreSQL spent longest on, and the WAL they wrote "
                             "(pg_stat_statements, loaded into the embedded server: a little slower).")
    args = parser.parse_args()
    if args.cleaners < 1:
        parser.error(f"--cleaners {args.cleaners}: at least one cleaner is needed")
    with scratch_stack("bench-replay-", keep=args.keep, statements=args.statements) as (home, broker, server_url):
        database_url = asyncio.run(create_database(server_url, "bench_replay"))
        print(asyncio.run(postgres_facts(database_url)))
        try:
            asyncio.run(prepare(args, broker.bootstrap, database_url))
            print(f"load average before: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
                  f"({os.cpu_count()} CPUs)", flush=True)
            if args.statements:
                asyncio.run(reset_statement_costs(database_url))
            replay = asyncio.run(measure(args, home, broker.bootstrap, database_url, broker.pid))
            report(args, replay, peak_rss_mib(broker.pid))
            if args.statements:
                print("PostgreSQL, the statements it spent longest on:")
                for line in asyncio.run(statement_costs(database_url)):
                    print(f"  {line}")
            print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        finally:
            if args.keep:
                print(f"kept the database {database_url}")
            else:
                asyncio.run(drop_database(database_url))

if __name__ == "__main__":
    main()

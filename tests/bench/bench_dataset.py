"""Benchmark: a 100,000-example dataset build, from stored examples to the broker's ack of DatasetBuilt.

Starts a Tansu broker and a fresh database (on DISTILLERY_TEST_DATABASE_URL's server, else
an embedded PostgreSQL), stores synthetic clinic calls (about 1,000 tokens an example,
outside the measurement), then runs one build in a fresh child process, so that its peak
memory is the build's own: trigger → selection → validation of every line → files and
manifest → publish transaction → outbox relay → broker ack. Prints the figures. Not a test.

    .venv/bin/python tests/bench/bench_dataset.py [--examples 100000] [--turns 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


from distillery_cli.localstack.broker import start_broker
from distillery_cli.localstack.procs import free_port
from distillery_contracts.registry import all_topic_specs
from distillery_runtime.blobstore import LocalBlobStore
from distillery_dataset_builder.adapters.example_store import SqlExampleStore
from distillery_dataset_builder.app import MIGRATIONS, SCHEMA, dataset_registry, example_store
from distillery_dataset_builder.config import DatasetBuilderSettings
from distillery_dataset_builder.domain.records import records_of
from distillery_dataset_builder.samples import synthetic_calls
from distillery_dataset_builder.services import BuildPipeline, DatasetBuilder
from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.kafka import KafkaPublisher, ensure_topics
from distillery_runtime.migrations import migrate
from distillery_runtime.outbox import OutboxRelay
from distillery_runtime.pricing import PriceTable
from distillery_runtime.tokens import tokenizer_for
from distillery_runtime.uow import UnitOfWork

sys.path.insert(0, str(Path(__file__).parents[1] / "support"))  # run as a script, not under pytest

from bench_support import postgres_facts, postgres_server  # noqa: E402
from db_helpers import create_database, drop_database  # noqa: E402

BATCH = 2_000

TOKENIZER = tokenizer_for("gpt-4o-mini-2024-07-18")


async def store_examples(url: str, examples: int, turns: int) -> tuple[float, float]:
    """(seconds in all, seconds in the store's ``add`` and commit alone): the rest is
    simulating calls and counting their tokens, which the dataset-builder's handler does
    too but which is not the store."""
    engine = create_engine(url, SCHEMA)
    await migrate(engine, SCHEMA, MIGRATIONS)
    sessions = session_factory(engine)
    started = time.perf_counter()
    calls = synthetic_calls(-(-examples // turns), turns=turns, seed=42, system_words=260, user_words=24,
                            assistant_words=40)
    batch: list = []
    stored, in_store = 0, 0.0
    for example in calls:
        batch.append(example)
        if len(batch) == BATCH or stored + len(batch) == examples:
            records = records_of(batch, TOKENIZER)
            async with sessions() as session:
                before = time.perf_counter()
                stored += await SqlExampleStore(session).add(records)
                await session.commit()
                in_store += time.perf_counter() - before
            batch = []
            if stored >= examples:
                break
    await engine.dispose()
    return time.perf_counter() - started, in_store


async def build_once(url: str, bootstrap: str, root: str) -> dict:
    """The measured part, in its own process."""
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    engine = create_engine(url, SCHEMA)
    sessions = session_factory(engine)
    publisher = KafkaPublisher(bootstrap, "bench")
    relay = OutboxRelay(engine, publisher, lock_name=f"outbox:{SCHEMA}")
    config = DatasetBuilderSettings(build_threshold=1, schedule="off")
    pipeline = BuildPipeline(example_store, dataset_registry, LocalBlobStore(Path(root)), PriceTable())
    builder = DatasetBuilder(config, pipeline)
    started = time.perf_counter()
    dataset_id = await builder.tick(lambda: UnitOfWork(sessions, "dataset-builder/bench"))
    built = time.perf_counter()
    published = await relay.publish_pending()
    acked = time.perf_counter()
    async with engine.connect() as conn:
        from sqlalchemy import text

        manifest = (await conn.execute(text("select manifest from datasets"))).scalar_one()
    await publisher.stop()
    await engine.dispose()
    return {"dataset_id": dataset_id, "events": published, "build_s": built - started, "total_s": acked - started,
            "baseline_rss_mib": baseline_kib / 1024,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "files": manifest["files"], "tokens": manifest["token_stats"], "counts": manifest["counts"]}


async def main(args: argparse.Namespace) -> None:
    home = Path(tempfile.mkdtemp(prefix="distillery-bench-dataset-"))
    home.chmod(0o755)
    try:
        with postgres_server(home / "pg") as server:
            await run(args, home, server)
    finally:
        shutil.rmtree(home, ignore_errors=True)


async def run(args: argparse.Namespace, home: Path, server: str) -> None:
    broker = start_broker(home, free_port())
    url = None
    try:
        url = await create_database(server, "bench")
        print(await postgres_facts(url))
        await ensure_topics(broker.bootstrap, all_topic_specs())
        print(f"storing {args.examples:,} examples ...", flush=True)
        ingest_s, store_s = await store_examples(url, args.examples, args.turns)
        print(f"stored in {ingest_s:.1f} s ({args.examples / ingest_s:,.0f} examples/s, not part of the build)")
        print(f"example store: {args.examples / store_s:,.0f} examples/s ({store_s:.1f} s in add + commit, "
              f"batches of {BATCH:,}; the rest is simulating and counting tokens)")
        child = subprocess.run([sys.executable, __file__, "--child", url, broker.bootstrap, str(home / "datasets")],
                               capture_output=True, text=True, check=False)
        if child.returncode != 0:
            raise SystemExit(child.stderr[-4000:])
        result = json.loads(child.stdout.strip().splitlines()[-1])
        report(result)
    finally:
        broker.stop()
        if url is not None:
            await drop_database(url)


def report(r: dict) -> None:
    files, tokens, counts = r["files"], r["tokens"], r["counts"]
    examples = files["train"]["examples"] + files["validation"]["examples"]
    print(f"dataset {r['dataset_id']}: {files['train']['examples']:,} train + {files['validation']['examples']:,} "
          f"validation examples, train.jsonl {files['train']['size_bytes'] / 1e6:,.0f} MB, "
          f"{tokens['train_tokens']:,} train tokens ({tokens['train_tokens'] // max(1, files['train']['examples'])}"
          f" per example); candidates {counts['candidate_examples']:,}")
    print(f"build (stored examples → published, DatasetBuilt in the outbox): {r['build_s']:.1f} s")
    print(f"stored examples → broker ack of DatasetBuilt ({r['events']} event): {r['total_s']:.1f} s "
          f"({examples / r['total_s']:,.0f} examples/s)")
    print(f"peak RSS of the build process: {r['peak_rss_mib']:,.0f} MiB "
          f"(of which {r['baseline_rss_mib']:,.0f} MiB after imports)")
    print(f"targets: < 60 s {'met' if r['total_s'] < 60 else 'MISSED'}, "
          f"< 1 GiB {'met' if r['peak_rss_mib'] < 1024 else 'MISSED'}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(asyncio.run(build_once(*sys.argv[2:]))))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--examples", type=int, default=100_000)
        parser.add_argument("--turns", type=int, default=8, help="turns (examples) per call")
        asyncio.run(main(parser.parse_args()))

"""What the benchmark scripts share: a PostgreSQL server to make their scratch databases on,
and a server process they start and wait for. The scripts run as files (``.venv/bin/python
tests/bench/<script>.py``), so this folder is on their ``sys.path``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from distillery_cli.localstack.broker import BrokerProcess, start_broker
from distillery_cli.localstack.postgres import start_postgres
from distillery_cli.localstack.procs import free_port


SERVER_SETTINGS = {"shared_buffers": "512MB", "max_wal_size": "16GB", "checkpoint_timeout": "30min"}
"""The embedded server's parameters in a benchmark, as a write-heavy deployment would set them
(README, Scaling a service). With PostgreSQL's defaults (128 MB of buffers, a checkpoint every
gigabyte of WAL) a 300,000-generation replay checkpointed again and again, and the first
change to every page after each checkpoint wrote the whole page to the WAL again: 6.6 GB of WAL
instead of 4.3; at 100,000 generations, 0.38-0.39 ms of the server's CPU a generation against
0.27-0.30 with these."""


@contextmanager
def postgres_server(home: Path, statements: bool = False) -> Iterator[str]:
    """The URL of DISTILLERY_TEST_DATABASE_URL's server, else of an embedded PostgreSQL kept
    under ``home`` with :data:`SERVER_SETTINGS` and stopped on leaving; ``statements`` loads
    pg_stat_statements into it (:func:`statement_costs`)."""
    given = os.environ.get("DISTILLERY_TEST_DATABASE_URL")
    if given:
        yield given
        return
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)  # PostgreSQL runs as another user when the benchmark runs as root
    settings = {**SERVER_SETTINGS, **({"shared_preload_libraries": "pg_stat_statements"} if statements else {})}
    postgres = start_postgres(home, free_port(), settings=settings)
    try:
        yield postgres.url
    finally:
        postgres.stop()


async def postgres_facts(url: str) -> str:
    """What a figure that writes to ``url``'s server depends on, as a ``postgresql:`` line: its
    version, the settings that matter to heavy writing, and whether it can compress large
    values with lz4. Where it cannot (the embedded server's build has no lz4), the
    dataset-builder's example bodies are compressed with pglz, which costs the server about
    30 µs more an example (``README.md``, Scaling a service)."""
    connection = await asyncpg.connect(url)
    try:
        version = await connection.fetchval("show server_version")
        methods = await connection.fetchval(
            "select enumvals from pg_settings where name = 'default_toast_compression'")
        settings = [f"{name} {await connection.fetchval(f'show {name}')}" for name in SERVER_SETTINGS]
    finally:
        await connection.close()
    which = "DISTILLERY_TEST_DATABASE_URL's server" if os.environ.get("DISTILLERY_TEST_DATABASE_URL") \
        else "the embedded server"
    compression = "lz4" if "lz4" in (methods or ()) else "pglz (this build has no lz4)"
    return f"postgresql: {version.split()[0]}, {which} ({', '.join(settings)}), large values compressed with {compression}"


async def reset_statement_costs(url: str) -> None:
    """Start :func:`statement_costs` afresh (the server must load pg_stat_statements)."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("create extension if not exists pg_stat_statements")
        await connection.execute("select pg_stat_statements_reset()")
        await connection.execute("select pg_stat_reset_shared('wal')")
    finally:
        await connection.close()


async def statement_costs(url: str, most: int = 12) -> list[str]:
    """The ``most`` statements the server spent longest on since :func:`reset_statement_costs`,
    one line each (seconds, calls, rows, WAL written, the statement's start), after a line of the
    WAL written in all and how much of it was whole pages written again after a checkpoint."""
    connection = await asyncpg.connect(url)
    try:
        wal = await connection.fetchrow("select wal_records, wal_fpi, wal_bytes from pg_stat_wal")
        rows = await connection.fetch(
            "select total_exec_time, calls, rows, wal_bytes, regexp_replace(query, '\\s+', ' ', 'g') as query "
            "from pg_stat_statements order by total_exec_time desc limit $1", most)
    finally:
        await connection.close()
    lines = [f"WAL: {float(wal['wal_bytes']) / 1e6:,.0f} MB in {wal['wal_records']:,} records, "
             f"{wal['wal_fpi']:,} of them whole pages"]
    lines += [f"{r['total_exec_time'] / 1000:7.2f} s {r['calls']:7,} calls {r['rows']:10,} rows "
              f"WAL {float(r['wal_bytes']) / 1e6:7,.0f} MB  {r['query'].strip()[:110]}" for r in rows]
    return lines


@contextmanager
def scratch_stack(prefix: str, keep: bool = False,
                  statements: bool = False) -> Iterator[tuple[Path, BrokerProcess, str]]:
    """(home, broker, PostgreSQL server URL) of a benchmark run: a fresh home directory, a
    Tansu broker and ``postgres_server`` (``statements`` as there); stopped on leaving, the home
    removed unless ``keep``."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    home.chmod(0o755)
    broker = start_broker(home, free_port())
    try:
        with postgres_server(home / "pg", statements) as server_url:
            yield home, broker, server_url
    finally:
        broker.stop()
        if keep:
            print(f"kept {home} (service logs)")
        else:
            shutil.rmtree(home, ignore_errors=True)


def start_server(args: list[str], ready_url: str, what: str, *, tries: int = 300, pause_s: float = 0.1,
                 **popen: Any) -> subprocess.Popen[bytes]:
    """``python <args>`` (``popen`` as for ``subprocess.Popen``), returned once ``ready_url``
    answers 200; ends the benchmark naming ``what`` when it exits or never answers."""
    proc = subprocess.Popen([sys.executable, *args], **popen)
    for _ in range(tries):
        try:
            if httpx.get(ready_url, timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(pause_s)
    proc.kill()
    raise SystemExit(f"{what} did not start")


def stop_processes(procs: list[subprocess.Popen]) -> None:
    """SIGTERM each, then wait for each to drain and stop (SIGKILL after two minutes)."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(120)  # a loaded machine can take a while to drain and stop
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

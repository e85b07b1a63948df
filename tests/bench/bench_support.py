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


@contextmanager
def postgres_server(home: Path) -> Iterator[str]:
    """The URL of DISTILLERY_TEST_DATABASE_URL's server, else of an embedded PostgreSQL kept
    under ``home`` and stopped on leaving."""
    given = os.environ.get("DISTILLERY_TEST_DATABASE_URL")
    if given:
        yield given
        return
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)  # PostgreSQL runs as another user when the benchmark runs as root
    postgres = start_postgres(home, free_port())
    try:
        yield postgres.url
    finally:
        postgres.stop()


async def postgres_facts(url: str) -> str:
    """What a figure that writes to ``url``'s server depends on, as a ``postgresql:`` line: its
    version, and whether it can compress large values with lz4. Where it cannot (the embedded
    server's build has no lz4), the dataset-builder's example bodies are compressed with pglz,
    which costs the server about 30 µs more an example (``README.md``, Scaling a service)."""
    connection = await asyncpg.connect(url)
    try:
        version = await connection.fetchval("show server_version")
        methods = await connection.fetchval(
            "select enumvals from pg_settings where name = 'default_toast_compression'")
    finally:
        await connection.close()
    which = "DISTILLERY_TEST_DATABASE_URL's server" if os.environ.get("DISTILLERY_TEST_DATABASE_URL") \
        else "the embedded server"
    compression = "lz4" if "lz4" in (methods or ()) else "pglz (this build has no lz4)"
    return f"postgresql: {version.split()[0]}, {which}, large values compressed with {compression}"


@contextmanager
def scratch_stack(prefix: str, keep: bool = False) -> Iterator[tuple[Path, BrokerProcess, str]]:
    """(home, broker, PostgreSQL server URL) of a benchmark run: a fresh home directory, a
    Tansu broker and ``postgres_server``; stopped on leaving, the home removed unless ``keep``."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    home.chmod(0o755)
    broker = start_broker(home, free_port())
    try:
        with postgres_server(home / "pg") as server_url:
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

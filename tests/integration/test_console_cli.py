"""``distillery console`` as an operator (and the demo) starts it: a process that prints its
URL first, serves the overview there, and steers as the local operator the demo configures."""

from __future__ import annotations

import asyncio
import signal
import sys

import httpx
import pytest
from kafka_helpers import wait_until
from processes import service_env, start_process

from distillery_cli.localstack.procs import free_port
from distillery_contracts.registry import all_topic_specs
from distillery_runtime.kafka import ensure_topics
from distillery_runtime.signing import local_keys

pytestmark = pytest.mark.integration


async def test_distillery_console_prints_its_url_and_serves_the_overview_there(broker, database_url, tmp_path):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    port = free_port()
    env = service_env(broker.bootstrap, database_url, tmp_path / "home")
    env["DISTILLERY_CONSOLE_OPERATOR_KEYS"] = str(local_keys(tmp_path / "home").operator_key)
    log = tmp_path / "console.log"
    proc = start_process(["-m", "distillery_cli", "console", "--port", str(port)], env, log)
    try:
        async def overview() -> str | None:
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    response = await client.get(f"http://127.0.0.1:{port}/")
            except httpx.HTTPError:
                return None
            return response.text if response.status_code == 200 else None

        page = await wait_until(overview, timeout=90, interval=0.3)
        assert page and "<h1>Overview</h1>" in page, log.read_text()[-2000:]
        assert log.read_text().splitlines()[0] == f"Console: http://127.0.0.1:{port}/  (Ctrl-C stops it)"
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 30)
    assert proc.returncode == 0, log.read_text()[-2000:]

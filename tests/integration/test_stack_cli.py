"""`distillery stack` as a newcomer runs it: up, up again, status, topics, down."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from distillery_cli.localstack.procs import free_port

pytestmark = pytest.mark.integration

DISTILLERY = str(Path(os.environ.get("VIRTUAL_ENV", Path(__file__).parents[2] / ".venv")) / "bin" / "distillery")


def cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DISTILLERY_")}
    return subprocess.run([DISTILLERY, *args], capture_output=True, text=True, timeout=180,
                          env={**clean, "DISTILLERY_HOME": str(home), "COLUMNS": "200", **env})


@pytest.fixture
def home():
    path = Path(tempfile.mkdtemp(prefix="distillery-stack-"))
    path.chmod(0o755)
    yield path
    cli(path, "stack", "down")
    shutil.rmtree(path, ignore_errors=True)


def test_stack_up_starts_broker_and_database_creates_topics_and_says_where(home):
    kafka_port, pg_port = free_port(), free_port()
    up = cli(home, "stack", "up", "--kafka-port", str(kafka_port), "--postgres-port", str(pg_port))
    assert up.returncode == 0, up.stderr
    assert f"127.0.0.1:{kafka_port}" in up.stdout
    assert f"postgresql://postgres@127.0.0.1:{pg_port}/distillery" in up.stdout
    assert "topics:" in up.stdout and str(home) in up.stdout

    again = cli(home, "stack", "up", "--kafka-port", str(free_port()))
    assert again.returncode == 0
    assert "already running; nothing changed" in again.stdout
    assert f"127.0.0.1:{kafka_port}" in again.stdout

    status = cli(home, "stack", "status")
    assert status.returncode == 0 and status.stdout.count("up") >= 2

    listed = cli(home, "topics", "list")
    assert listed.returncode == 0, listed.stderr
    assert "distillery.traces.raw.v1" in listed.stdout and " no " not in listed.stdout.replace("│", " ")

    described = cli(home, "topics", "describe", "distillery.traces.raw.v1")
    assert described.returncode == 0, described.stderr
    assert "TraceCaptured" in described.stdout and described.stdout.count("\n") > 12

    down = cli(home, "stack", "down")
    assert down.returncode == 0 and "Stack stopped" in down.stdout
    assert cli(home, "stack", "status").returncode == 1


def test_topics_list_without_a_broker_is_one_clear_line(home):
    result = cli(home, "topics", "list", DISTILLERY_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert "cannot reach the Kafka broker" in result.stderr
    assert "Traceback" not in result.stderr

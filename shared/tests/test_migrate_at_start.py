"""A service's start-up migration through a database restart: tried again, then one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillery_runtime.db import create_engine
from distillery_runtime.errors import ConfigError
from distillery_runtime.migrations import migrate_at_start

ENGINE = create_engine("postgresql://svc:secret@db.example:5432/distillery", "probe")


class Migration:
    """A migration that fails with ``errors`` in turn, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.runs = 0

    async def __call__(self, engine, schema: str, migrations_dir: Path) -> None:
        self.runs += 1
        if self.errors:
            raise self.errors.pop(0)


async def test_a_database_gone_during_the_migration_is_tried_again_until_it_is_back():
    migration = Migration(ConnectionResetError("connection reset"), ConnectionRefusedError("refused"))
    await migrate_at_start(ENGINE, "probe", Path("."), backoff_s=0, run=migration)
    assert migration.runs == 3


async def test_a_database_that_stays_away_ends_in_the_one_line_of_an_unreachable_database():
    migration = Migration(*[ConnectionRefusedError("refused")] * 3)
    with pytest.raises(ConfigError) as raised:
        await migrate_at_start(ENGINE, "probe", Path("."), attempts=3, backoff_s=0, run=migration)
    assert migration.runs == 3
    message = str(raised.value)
    assert "cannot connect to PostgreSQL" in message and "DISTILLERY_DATABASE_URL" in message
    assert "secret" not in message and "\n" not in message


async def test_an_error_of_the_migration_itself_is_raised_at_once():
    migration = Migration(ValueError("revision 0003 not found"))
    with pytest.raises(ValueError, match="0003"):
        await migrate_at_start(ENGINE, "probe", Path("."), backoff_s=0, run=migration)
    assert migration.runs == 1

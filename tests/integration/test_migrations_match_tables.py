"""Each service's migrations, run on an empty database, give exactly the tables its code
describes (``adapters/tables.py`` plus the runtime's inbox and outbox).

Migrations are frozen literal steps; the table definitions change with the code. When they
drift apart (a column added to a table but no revision written, or a revision that no
longer matches), a fresh deployment and an upgraded one would differ: this fails first.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, MetaData, inspect

from distillery_cli.discovery import installed_services, migration_target
from distillery_runtime.db import create_engine
from distillery_runtime.migrations import migrate
from distillery_runtime.tables import runtime_metadata

pytestmark = pytest.mark.integration


def described_tables(service: str, schema: str) -> MetaData:
    """The service's table definitions and the runtime's, in one MetaData."""
    module = importlib.import_module(f"distillery_{schema}.adapters.tables")
    combined = MetaData()
    sources = [runtime_metadata, *{id(v): v for v in vars(module).values() if isinstance(v, MetaData)}.values()]
    for metadata in sources:
        for table in metadata.tables.values():
            table.to_metadata(combined)
    assert len(sources) > 1, f"{service}: adapters/tables.py defines no MetaData"
    return combined


def differences(connection, metadata: MetaData) -> list[object]:
    """Alembic's comparison (columns, types, defaults, keys, indexes, comments) and the checks'
    names, which Alembic does not compare."""
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
    found = [d for d in compare_metadata(context, metadata)
             if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")]
    inspector = inspect(connection)
    migrated = {(t, c["name"]) for t in inspector.get_table_names() for c in inspector.get_check_constraints(t)}
    described = {(t.name, c.name) for t in metadata.tables.values() for c in t.constraints
                 if isinstance(c, CheckConstraint)}
    found += [("check only migrated", *c) for c in sorted(migrated - described)]
    found += [("check only described", *c) for c in sorted(described - migrated)]
    return found


@pytest.mark.parametrize("service", installed_services())
async def test_migrated_schema_equals_the_table_definitions(service: str, database_url: str) -> None:
    schema, migrations = migration_target(service)
    engine = create_engine(database_url, schema)
    try:
        await migrate(engine, schema, Path(migrations))
        async with engine.connect() as conn:
            found = await conn.run_sync(differences, described_tables(service, schema))
    finally:
        await engine.dispose()
    assert found == [], f"{service}: migrations and adapters/tables.py differ: {found}"

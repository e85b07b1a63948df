"""Creating topics from the registry and running every installed service's migrations."""

from __future__ import annotations

from distillery_cli.discovery import installed_services, migration_target
from distillery_contracts.registry import all_topic_specs
from distillery_runtime.db import check_database, create_engine
from distillery_runtime.kafka import check_broker, ensure_topics
from distillery_runtime.migrations import migrate


async def create_topics(bootstrap: str) -> list[str]:
    await check_broker(bootstrap)
    return await ensure_topics(bootstrap, all_topic_specs())


async def migrate_all(database_url: str, only: list[str] | None = None) -> list[str]:
    done = []
    for name in only or installed_services():
        schema, migrations_dir = migration_target(name)
        engine = create_engine(database_url, schema, pool_size=1)
        try:
            await check_database(engine)
            await migrate(engine, schema, migrations_dir)
        finally:
            await engine.dispose()
        done.append(name)
    return done

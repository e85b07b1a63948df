"""Creating topics from the registry and running every installed service's migrations."""

from __future__ import annotations

from distillery_cli.services import installed_services, load_service
from distillery_contracts.registry import all_topic_specs
from distillery_runtime.db import check_database, create_engine
from distillery_runtime.kafka import check_broker, ensure_topics
from distillery_runtime.migrations import migrate
from distillery_runtime.settings import RuntimeSettings


async def create_topics(bootstrap: str) -> list[str]:
    await check_broker(bootstrap)
    return await ensure_topics(bootstrap, all_topic_specs())


async def migrate_all(database_url: str, only: list[str] | None = None) -> list[str]:
    done = []
    settings = RuntimeSettings(database_url=database_url, kafka_bootstrap="unused:0")
    for name in only or installed_services():
        spec = load_service(name)(settings)
        engine = create_engine(database_url, spec.schema, pool_size=1)
        try:
            await check_database(engine)
            await migrate(engine, spec.schema, spec.migrations_dir)
        finally:
            await engine.dispose()
        done.append(name)
    return done

"""The trace-ingester service: Langfuse generations into ``distillery.traces.raw.v1``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from distillery_contracts.registry import COMMANDS_INGEST, get_topic
from distillery_contracts.commands import BackfillRange
from distillery_runtime.consumer import Subscription
from distillery_runtime.entrypoint import load_settings
from distillery_runtime.service import ServiceSpec
from distillery_runtime.settings import RuntimeSettings
from distillery_trace_ingester import __version__
from distillery_trace_ingester.adapters.langfuse_client import AbstractLangfuseReader, HttpLangfuseReader
from distillery_trace_ingester.config import IngesterSettings, LangfuseProject
from distillery_trace_ingester.handlers import backfill_handler
from distillery_trace_ingester.jobs import capture_job
from distillery_trace_ingester.status import status_routes

NAME = "trace-ingester"
SCHEMA = "trace_ingester"
MIGRATIONS = Path(__file__).parent / "migrations"

ReaderFactory = Callable[[LangfuseProject], AbstractLangfuseReader]


def http_reader(config: IngesterSettings) -> ReaderFactory:
    """Readers of the public API, configured from the ingester's settings."""

    def make(project: LangfuseProject) -> AbstractLangfuseReader:
        return HttpLangfuseReader(
            project, page_size=config.page_size, score_page_size=config.score_page_size,
            timeout_s=config.request_timeout_s, max_attempts=config.max_attempts,
            max_retry_after_s=config.max_retry_after_s, expand_metadata=config.expand_metadata)

    return make


def build(settings: RuntimeSettings, config: IngesterSettings | None = None,
          make_reader: ReaderFactory | None = None) -> ServiceSpec:
    """The service; ``config`` and ``make_reader`` default to the environment and HTTP."""
    config = config or load_settings(IngesterSettings)
    project_ids = [p.project_id for p in config.resolved_projects()]
    return ServiceSpec(
        name=NAME,
        version=__version__,
        schema=SCHEMA,
        migrations_dir=MIGRATIONS,
        subscriptions=[Subscription(topic=get_topic(COMMANDS_INGEST), event=BackfillRange, handler=backfill_handler(project_ids),
                                    consumer="on_backfill_range")],
        background=[capture_job(config, make_reader or http_reader(config))],
        routes=status_routes,
    )

"""A Distillery service process: settings → checks → migrations → consumers, relay, HTTP, inbox retention.

A service module builds a :class:`ServiceSpec` (its name, migrations, subscriptions and
background tasks) and calls :func:`run_service`. Everything with a connection is created
here, at start-up, and closed on SIGTERM/SIGINT: the batch in flight finishes and
commits (or is abandoned uncommitted and redelivered), the outbox is drained.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.routing import BaseRoute

from distillery_runtime.consumer import BatchProcessor, Subscription
from distillery_runtime.db import check_database, create_engine, session_factory
from distillery_runtime.errors import ConfigError
from distillery_runtime.health import HttpServer, build_app
from distillery_runtime.kafka import (
    KafkaDeadLetterSink,
    KafkaPublisher,
    check_broker,
    create_broker,
    Pipeline,
    prepare_to_leave_groups,
    subscribe,
)
from distillery_runtime.logs import get_logger
from distillery_runtime.safe_errors import safe_summary
from distillery_runtime.metrics import READY
from distillery_runtime.migrations import migrate_at_start
from distillery_runtime.outbox import OutboxRelay
from distillery_runtime.registration import Registration, register
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork

log = get_logger(__name__)

_FRAMING_BYTES = 64 * 1024
"""Room above DISTILLERY_MAX_EVENT_BYTES in the producer's own request limit (it counts only
key and value), so that the runtime's size check, not the client's, decides."""


@dataclass
class ServiceContext:
    """What a running service hands to its background tasks and HTTP routes."""

    name: str
    settings: RuntimeSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    new_uow: Callable[[], UnitOfWork]
    broker: Any
    stopping: asyncio.Event


Job = Callable[[ServiceContext], Coroutine[Any, Any, None]]
"""A background task: runs from start-up until the service stops (a Worker is one)."""


@dataclass
class ServiceSpec:
    """Everything that makes one service what it is."""

    name: str
    version: str
    schema: str
    migrations_dir: Path
    subscriptions: Sequence[Subscription] = ()
    background: Sequence[Job] = ()
    routes: Callable[[ServiceContext], Sequence[BaseRoute]] | None = None
    api_tokens: Sequence[str] = ()
    """Bearer tokens its HTTP server accepts besides DISTILLERY_API_TOKENS (the trainer's API key)."""
    public_routes: bool = False
    """Its routes answer without the runtime's bearer token, because people open them in a browser
    and the service authenticates them itself (the console); /metrics still needs a token."""

    @classmethod
    def of(cls, package: ModuleType, **parts: Any) -> ServiceSpec:
        """The service a package ``distillery_<name>`` is, by the one convention every service
        follows (and ``distillery migrate`` relies on): named ``<name>`` with dashes, its schema
        ``<name>`` with underscores, its version the package's ``__version__``, its migrations
        in the package's ``migrations`` folder. ``parts``: subscriptions, background, routes."""
        schema = package.__name__.removeprefix("distillery_")
        return cls(name=schema.replace("_", "-"), version=package.__version__, schema=schema,
                   migrations_dir=Path(str(package.__file__)).parent / "migrations", **parts)

    @property
    def producer(self) -> str:
        return f"{self.name}/{self.version}"

    @property
    def default_group(self) -> str:
        return f"distillery.{self.name}"


class ServiceRunner:
    def __init__(self, spec: ServiceSpec, settings: RuntimeSettings) -> None:
        self.spec = spec
        self.settings = settings
        self.stopping = asyncio.Event()
        self._infra_backoff_s = 0.0
        self._infra_ok = True
        self.http: HttpServer | None = None

    async def start_checks(self) -> AsyncEngine:
        url = self.settings.require_database_url()
        engine = create_engine(url, self.spec.schema)
        await check_database(engine)
        await check_broker(self.settings.kafka_bootstrap)
        await migrate_at_start(engine, self.spec.schema, self.spec.migrations_dir)
        return engine

    async def run(self) -> None:
        engine = await self.start_checks()
        sessions = session_factory(engine)
        max_event_bytes = self.settings.max_event_bytes
        broker = create_broker(self.settings.kafka_bootstrap, self.spec.name,
                               graceful_timeout=self.settings.shutdown_grace_s,
                               max_request_size=max_event_bytes + _FRAMING_BYTES)
        publisher = KafkaPublisher(self.settings.kafka_bootstrap, f"{self.spec.name}-outbox",
                                   max_batch_size=min(512 * 1024, max_event_bytes))
        relay = OutboxRelay(engine, publisher, lock_name=f"outbox:{self.spec.schema}",
                            poll_s=self.settings.outbox_poll_s, batch_size=self.settings.outbox_batch_size,
                            max_event_bytes=max_event_bytes)

        def new_uow() -> UnitOfWork:
            return UnitOfWork(sessions, self.spec.producer, on_commit=relay.committed, max_event_bytes=max_event_bytes)

        ctx = ServiceContext(self.spec.name, self.settings, engine, sessions, new_uow, broker, self.stopping)
        sink = KafkaDeadLetterSink(broker, self.spec.name, self.spec.producer, max_event_bytes=max_event_bytes)
        subscribers, pipelines = [], []
        for sub in self.spec.subscriptions:
            processor = BatchProcessor(
                service=self.spec.name, subscription=sub, group=sub.group or self.spec.default_group,
                new_uow=new_uow, dead_letters=sink, attempts=self.settings.handler_attempts,
                backoff_s=self.settings.handler_backoff_s,
            )
            pipeline = Pipeline(processor, self._on_infrastructure_error) if sub.prepare is not None else None
            pipelines += [pipeline] if pipeline is not None else []
            subscribers.append(subscribe(broker, processor, batch_size=sub.batch_size or self.settings.consumer_batch_size,
                      batch_timeout_ms=self.settings.consumer_batch_timeout_ms,
                      on_infrastructure_error=self._on_infrastructure_error,
                      session_timeout_ms=self.settings.consumer_session_timeout_ms, pipeline=pipeline))
        try:
            self.http = HttpServer(
                build_app(self.spec.name, lambda: self._readiness(relay),
                          self.spec.routes(ctx) if self.spec.routes else (),
                          tokens=[*self.settings.accepted_tokens(), *self.spec.api_tokens],
                          public_routes=self.spec.public_routes),
                self.settings.http_host, self.settings.http_port,
            )
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {self.settings.http_host}:{self.settings.http_port} ({exc.strerror}); "
                "set DISTILLERY_HTTP_PORT to a free port (0 picks one)"
            ) from None
        self._install_signal_handlers()
        tasks = [asyncio.create_task(relay.run(), name="outbox-relay"),
                 asyncio.create_task(self.http.serve(), name="http")]
        # Here, not at the top: the pruner and the upkeep are Workers, and worker.py imports this module.
        from distillery_runtime.retention import inbox_pruner
        from distillery_runtime.upkeep import upkeep_worker

        background: list[Job] = [*self.spec.background, inbox_pruner(self.spec.subscriptions, self.settings),
                                 upkeep_worker(self.spec.schema, self.settings)]
        tasks += [asyncio.create_task(job(ctx), name=getattr(job, "__name__", "job")) for job in background]
        await broker.start()
        READY.labels(self.spec.name).set(1)
        registration = register(self.settings.home, Registration(
            self.spec.name, self.spec.version, os.getpid(), f"http://{self.http.host}:{self.http.port}",
            self.spec.default_group))
        log.info("service started", service=self.spec.name, version=self.spec.version,
                 http=f"http://{self.http.host}:{self.http.port}", kafka=self.settings.kafka_bootstrap,
                 subscriptions=[s.topic.name for s in self.spec.subscriptions])
        try:
            await self._wait_for_stop(tasks)
        finally:
            READY.labels(self.spec.name).set(0)
            registration.unlink(missing_ok=True)
            log.info("service stopping", service=self.spec.name)
            prepare_to_leave_groups(subscribers)
            if pipelines:  # the transaction in flight behind a handler commits (or times out, uncommitted)
                await asyncio.wait([asyncio.ensure_future(p.close()) for p in pipelines],
                                   timeout=self.settings.shutdown_grace_s)
            await broker.stop()  # waits for the batch in flight (graceful_timeout)
            relay.stop()
            self.http.stop()
            await asyncio.wait(tasks, timeout=self.settings.shutdown_grace_s)
            for task in tasks:
                task.cancel()
            await publisher.stop()
            await engine.dispose()
            log.info("service stopped", service=self.spec.name)

    async def _wait_for_stop(self, tasks: list[asyncio.Task[Any]]) -> None:
        stop = asyncio.create_task(self.stopping.wait())
        done, _ = await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stop and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        stop.cancel()

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)

    def _readiness(self, relay: OutboxRelay) -> dict[str, bool]:
        return {"outbox_relay": relay.healthy, "dependencies": self._infra_ok,
                "running": not self.stopping.is_set()}

    async def _on_infrastructure_error(self, exc: BaseException) -> None:
        self._infra_ok = False
        self._infra_backoff_s = min(30.0, max(0.5, self._infra_backoff_s * 2))
        log.warning("dependency failure; batch rewound, retrying", error=safe_summary(exc),
                    retry_in_s=self._infra_backoff_s)
        await asyncio.sleep(self._infra_backoff_s)
        self._infra_ok = True
        self._infra_backoff_s = self._infra_backoff_s / 2 if self._infra_backoff_s > 0.5 else 0.0

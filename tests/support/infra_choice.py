"""Which broker and database the integration and end-to-end tests run on.

Apache Kafka and PostgreSQL in containers (testcontainers) when a Docker engine answers, so
the services are proven on the broker production runs (idempotent producer, transactions,
real compaction); Tansu and the embedded PostgreSQL otherwise, as on a machine without
Docker. ``DISTILLERY_TEST_BROKER=tansu|kafka`` overrides the probe; a PostgreSQL server given
in ``DISTILLERY_TEST_DATABASE_URL`` is always used as it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

Broker = Literal["kafka", "tansu"]
Database = Literal["given", "container", "embedded"]

KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"
POSTGRES_IMAGE = "postgres:16-alpine"


class InfraChoiceError(ValueError):
    """A test infrastructure setting that cannot be honoured; its message is one line."""


@dataclass(frozen=True)
class InfraChoice:
    broker: Broker
    database: Database
    why: str


def docker_reachable(timeout_s: float = 2.0) -> bool:
    """Whether a Docker engine answers a ping (``DOCKER_HOST``, else the local socket)."""
    try:
        import docker

        client = docker.from_env(timeout=int(max(1, timeout_s)))
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no SDK, no socket, refused, timed out: no engine to use
        return False


def choose_infrastructure(env: Mapping[str, str] | None = None,
                          probe: Callable[[], bool] = docker_reachable) -> InfraChoice:
    """The broker and database for this test session; ``probe`` is asked only when needed."""
    env = os.environ if env is None else env
    wanted = env.get("DISTILLERY_TEST_BROKER", "").strip().lower()
    if wanted not in ("", "tansu", "kafka"):
        raise InfraChoiceError(f"DISTILLERY_TEST_BROKER={wanted!r}: expected tansu or kafka")
    given_db = bool(env.get("DISTILLERY_TEST_DATABASE_URL"))
    if wanted == "tansu":
        return InfraChoice("tansu", "given" if given_db else "embedded", "DISTILLERY_TEST_BROKER=tansu")
    docker = probe()
    if wanted == "kafka" and not docker:
        raise InfraChoiceError("DISTILLERY_TEST_BROKER=kafka needs a Docker engine, and none answered "
                               "(set DOCKER_HOST or start Docker; or use DISTILLERY_TEST_BROKER=tansu)")
    if docker:
        why = "DISTILLERY_TEST_BROKER=kafka" if wanted else "a Docker engine answered"
        return InfraChoice("kafka", "given" if given_db else "container", why)
    return InfraChoice("tansu", "given" if given_db else "embedded", "no Docker engine answered")


class BrokerHandle(Protocol):
    """What a test needs of its broker, Tansu's process or a Kafka container alike."""

    @property
    def bootstrap(self) -> str: ...

    def stop(self) -> None: ...


@dataclass
class KafkaBroker:
    """Apache Kafka in a container, seen by tests as a BrokerProcess is: a bootstrap and a stop."""

    container: Any

    @property
    def bootstrap(self) -> str:
        return str(self.container.get_bootstrap_server())

    def stop(self) -> None:
        self.container.stop()


def start_broker_for(choice: InfraChoice, home: Path) -> BrokerHandle:
    """A fresh broker of the chosen kind: Apache Kafka in its own container (KRaft), or
    in-memory Tansu with its files in ``home``."""
    if choice.broker == "kafka":
        from testcontainers.community.kafka import KafkaContainer

        return KafkaBroker(KafkaContainer(KAFKA_IMAGE).with_kraft().start())
    from distillery_cli.localstack.broker import start_broker
    from distillery_cli.localstack.procs import free_port

    return start_broker(home, free_port())


@contextmanager
def running_broker(choice: InfraChoice, home: Path) -> Iterator[BrokerHandle]:
    broker = start_broker_for(choice, home)
    try:
        yield broker
    finally:
        broker.stop()

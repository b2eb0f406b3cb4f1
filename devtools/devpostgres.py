"""A private PostgreSQL server for tests and benchmarks, from Debian's postgresql binaries.

    with PostgresServer() as server:
        url = server.create_database("corral")   # postgresql+psycopg://...

`initdb` makes a cluster in a temporary directory (as the `postgres` user when run as root:
the server refuses to run as root), the server listens on 127.0.0.1 on a free port with
password-less local trust, and `close()` stops it and removes everything.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise FileNotFoundError("PostgreSQL is not installed: run scripts/setup (it installs Debian's postgresql)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        self._bin = _binaries()
        self._dir = Path(tempfile.mkdtemp(prefix="corral-postgres-"))
        self._dir.chmod(0o755)
        self.data = self._dir / "data"
        self.port = _free_port()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self._dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self._dir / "server.log"), "-w", "start", "-o",
            # Tuned for throwaway test data: no fsync (durability is not what is measured).
            f"-p {self.port} -k {self._dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=300",
        )
        self._wait_ready()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as, str(self._bin / tool), *args], check=True, capture_output=True, cwd=self._dir)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.admin_dsn, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    @property
    def admin_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def create_database(self, name: str) -> str:
        """Creates (or re-creates, empty) database `name`; returns its SQLAlchemy URL."""
        with psycopg.connect(self.admin_dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        if self.data.exists():
            subprocess.run([*self._as, str(self._bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                           capture_output=True, cwd=self._dir)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

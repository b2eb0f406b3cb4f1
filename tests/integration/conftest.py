"""Fixtures of the integration tests: for the egress tests, an event loop in a thread that drives
the proxy in-process (as the orchestrator runs it) and a stand-in HTTPS service with its own CA;
for tests that hold on both databases, `db` on SQLite and on a private PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.devpostgres import PostgresServer
from orchestrator.store import Database
from tests.helpers import Loop
from tests.standins.https_service import HttpsService


@pytest.fixture
def loop() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.loop.call_soon_threadsafe(loop.loop.stop)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[HttpsService]:
    with HttpsService(tmp_path / "tls", ["prices.test", "other.test"]) as service:
        yield service


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path: Path, postgres: PostgresServer) -> Iterator[Database]:
    """A fresh database, once on SQLite and once on PostgreSQL."""
    url = f"sqlite:///{tmp_path / 'orchestrator.db'}" if request.param == "sqlite" else postgres.create_database(f"t_{tmp_path.name[-12:]}")
    database = Database(url)
    yield database
    database.dispose()

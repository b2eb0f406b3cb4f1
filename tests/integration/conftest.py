"""Fixtures of the egress tests: an event loop in a thread that drives the proxy in-process (as
the orchestrator runs it), and a stand-in HTTPS service with its own CA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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

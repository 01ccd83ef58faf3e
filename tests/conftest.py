"""Session-wide fixtures: the real Kafka broker and PostgreSQL the tests run against."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from shared.logging import configure_logging
from tests.support.infra import Infra, start_infra
from tests.support.kafka import TopicTail


def pytest_configure(config: pytest.Config) -> None:
    configure_logging("tests", fmt="console", level="WARNING")


def pytest_collection_finish(session: pytest.Session) -> None:
    """On a new machine helm is built from source (minutes of CPU). When the chart's tests
    are in the run, the build starts now at the lowest priority, on the CPU the broker- and
    database-bound tests leave idle, and those tests (run last) find it built or wait for
    it under the build's lock. A failed build here is left for them to report."""
    if any(item.nodeid.startswith("tests/deploy/") for item in session.items):
        from deploy.helm import chart

        def build() -> None:
            with contextlib.suppress(Exception):
                chart.ensure_helm(background=True)

        threading.Thread(target=build, name="helm-build", daemon=True).start()


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    started = start_infra()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
async def database(infra: Infra) -> str:
    """A fresh, empty database for one test."""
    return await infra.create_database()


@pytest.fixture
async def tail(infra: Infra) -> AsyncIterator[TopicTail]:
    """Everything published on the registry's topics from the start of the test."""
    from shared.contracts.registry import TOPICS

    observer = await TopicTail(infra.bootstrap, [t.name for t in TOPICS]).start()
    try:
        yield observer
    finally:
        await observer.stop()

"""Each logistics test runs the service on a fresh database of its own; `kd` is a local
Kuaidi100 of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.logistics.kuaidi100_support import stub
from tests.integration.logistics.support import Logistics
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.kuaidi100_stub import Kuaidi100Stub


@pytest.fixture
def lg(infra: Infra, database: str, tail: TopicTail) -> Logistics:
    return Logistics(infra, database, tail)


@pytest.fixture
async def kd() -> AsyncIterator[Kuaidi100Stub]:
    server = stub()
    await server.start()
    yield server
    await server.stop()

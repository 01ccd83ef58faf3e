"""Each logistics test runs the service on a fresh database of its own."""

from __future__ import annotations

import pytest

from tests.integration.logistics.support import Logistics
from tests.support.infra import Infra
from tests.support.kafka import TopicTail


@pytest.fixture
def lg(infra: Infra, database: str, tail: TopicTail) -> Logistics:
    return Logistics(infra, database, tail)

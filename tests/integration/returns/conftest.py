"""One returns service, on the real broker and a database of its own, for these tests.

Each test makes its own order ids, so the tests share the running service.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.returns.app import build
from services.returns.settings import ReturnsSettings
from shared.runtime import Runtime
from tests.integration.returns.support import RULE_SECONDS
from tests.support.infra import Infra
from tests.support.services import service


@pytest.fixture(scope="package")
async def returns(infra: Infra) -> AsyncIterator[Runtime]:
    database = await infra.create_database("returns")
    async with service(
        build,
        ReturnsSettings,
        infra,
        database,
        not_received_after_seconds=RULE_SECONDS,
        gauges_seconds=1.0,
    ) as runtime:
        yield runtime

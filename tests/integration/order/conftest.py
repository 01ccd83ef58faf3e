"""One order service per test module (each test makes its own orders and ids)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.runtime import Runtime
from tests.integration.order.support import order_service
from tests.support.infra import Infra


@pytest.fixture(scope="module")
async def service(infra: Infra) -> AsyncIterator[Runtime]:
    dsn = await infra.create_database("order")
    async with order_service(infra, dsn, auto_confirm_seconds=3600) as runtime:
        yield runtime

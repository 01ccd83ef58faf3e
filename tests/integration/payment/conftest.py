"""The payment service running on the real broker and database.

One service instance serves the whole module (each test makes its own order ids),
so the suite pays the start-up once. Tests play the order service, logistics and
returns (by publishing their events), the shopper (through the sandbox pages) and,
when they need exact control, the provider itself (signing callbacks).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from deploy.local import stripe_mock as stripe_mock_server
from deploy.local.stripe_mock import StripeMock
from services.payment.app import build
from services.payment.settings import PaymentSettings
from shared.runtime import Runtime
from tests.integration.payment.support import Payment
from tests.support.http import client as client_of
from tests.support.infra import REPO, Infra
from tests.support.kafka import TopicTail
from tests.support.services import service


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def payment(infra: Infra) -> AsyncIterator[Runtime]:
    dsn = await infra.create_database("payment")
    async with service(
        build,
        PaymentSettings,
        infra,
        dsn,
        refund_retry_base_seconds=0.3,
        refund_retry_max_seconds=1.0,
        effects_lease_seconds=1.0,
        effects_poll_seconds=0.2,
    ) as runtime:
        yield runtime


@pytest_asyncio.fixture(loop_scope="session")
async def client(payment: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(payment) as http:
        yield http


@pytest_asyncio.fixture(loop_scope="session")
async def pay(
    infra: Infra, payment: Runtime, client: httpx.AsyncClient, tail: TopicTail
) -> Payment:
    return Payment(infra, payment, client, tail)


@pytest.fixture(scope="session")
def stripe_mock() -> Iterator[StripeMock]:
    """Stripe's own mock of its API, once per session (built on first use)."""
    mock = stripe_mock_server.start(REPO / ".local" / "test" / "stripe-mock.log")
    try:
        yield mock
    finally:
        mock.stop()

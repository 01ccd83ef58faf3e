"""While its database is out of reach a service answers 503 with Retry-After (a shop
frontend retries), stays alive for its liveness probe and says why it is not ready."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from shared.runtime import Runtime
from tests.integration.order.support import order_body, order_service
from tests.support.http import SHOP, client
from tests.support.infra import Infra
from tests.support.outage import Relay
from tests.support.polling import eventually


@pytest.fixture
async def relay(infra: Infra) -> AsyncIterator[Relay]:
    relay = Relay.for_dsn(infra.admin_dsn)
    await relay.restore()
    yield relay
    await relay.cut()


@pytest.fixture
async def service(infra: Infra, relay: Relay) -> AsyncIterator[Runtime]:
    dsn = await infra.create_database("order")
    async with order_service(infra, relay.dsn(dsn)) as runtime:
        yield runtime


def assert_retry_later(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    body = response.json()
    assert body["error"] == "database_unavailable" and body["message"]


async def test_placements_and_reads_answer_503_with_retry_after_while_the_database_is_down(
    service: Runtime, relay: Relay
) -> None:
    async with client(service) as http:
        placed = await http.post("/v1/orders", json=order_body(), headers=SHOP)
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["order_id"]
        customer = placed.json()["customer_id"]

        await relay.cut()
        for _ in range(5):
            assert_retry_later(await http.post("/v1/orders", json=order_body(), headers=SHOP))
        assert_retry_later(await http.get(f"/v1/orders/{order_id}", headers=SHOP))
        assert_retry_later(await http.get(f"/v1/customers/{customer}/orders", headers=SHOP))
        assert_retry_later(await http.post(f"/v1/orders/{order_id}/cancel", headers=SHOP))

        alive = await http.get("/healthz")
        assert alive.status_code == 200
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert any(r.startswith("database: unreachable") for r in ready.json()["reasons"])

        await relay.restore()

        async def placed_again() -> bool:
            response = await http.post("/v1/orders", json=order_body(), headers=SHOP)
            return response.status_code == 201

        await eventually(placed_again, timeout=30, what="placement after the database is back")
        assert (await http.get("/readyz")).status_code == 200

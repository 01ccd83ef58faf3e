"""One service's PostgreSQL stopped under load, cleanly and by a crash, and started again.

The payment service (where money moves) has its database on a server of this test's own;
the other four stay on the tests' shared server. While orders are placed, paid, shipped
and delivered the payment server is stopped with a fast shutdown (what an operator or a
failover does), started again, then killed (SIGKILL, as a crash) and started again. The
service must pause rather than fail: its `/readyz` answers 503 naming the database while
it is gone, and 200 again within RESUME_LIMIT_SECONDS of the server's return, without
anyone restarting the process. Every order completes, paid exactly once, and no service
sets a message aside as a dead letter because of the outage.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from deploy.demo.shop import Edges, Shop, order_body
from deploy.local.postgres import PostgresCluster
from deploy.local.stack import SERVICES
from tests.fault.test_database_restart import CATALOGUE, ENV, journey
from tests.support.infra import Infra
from tests.support.own_postgres import create_databases, kill_server, own_postgres
from tests.support.system import place_through_outage, start_system

pytestmark = [pytest.mark.fault, pytest.mark.slow]

VICTIM = "payment"
ORDERS_PER_WAVE = int(os.environ.get("FULFIL_FAULT_ORDERS_PER_WAVE", "16"))
DOWN_SECONDS = 10.0  # how long the server stays down each time (orders keep coming)
RESUME_LIMIT_SECONDS = 10.0
DEADLINE_SECONDS = 180.0


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with own_postgres("test-fault-svc-pg-") as cluster:
        yield cluster


@pytest.fixture(scope="module")
async def system(infra: Infra, postgres: PostgresCluster) -> AsyncIterator[dict[str, Any]]:
    databases = {name: await infra.create_database(f"fault_{name}") for name in SERVICES}
    databases.update(await create_databases(postgres, [VICTIM]))
    stack, state = await start_system(infra, ENV, databases)
    state["stack"] = stack
    try:
        yield state
    finally:
        stack.stop_processes()


async def readiness(client: httpx.AsyncClient, url: str) -> tuple[int, dict[str, Any]]:
    try:
        response = await client.get(f"{url}/readyz", timeout=5)
    except httpx.HTTPError as exc:
        return 0, {"reasons": [repr(exc)]}
    return response.status_code, response.json()


async def wait_readiness(
    client: httpx.AsyncClient, url: str, wanted: int, timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = await readiness(client, url)
        if status == wanted:
            return body
        assert time.monotonic() < deadline, f"/readyz still {status} after {timeout} s: {body}"
        await asyncio.sleep(0.1)


async def settled(shop: Shop, order_ids: list[str], deadline: float) -> dict[str, Any]:
    """Looks at each order until it is paid exactly its total, or the deadline passes;
    returns those that are not: order id -> (paid, total)."""
    auth = {"Authorization": f"Bearer {shop.edges.shop_key}"}
    unpaid: dict[str, Any] = {}
    for order_id in order_ids:
        while True:
            response = await shop.client.get(
                f"{shop.edges.order}/v1/orders/{order_id}", headers=auth
            )
            totals = response.json()["totals"]
            paid, total = totals["paid"]["amount"], totals["total"]["amount"]
            if paid == total:
                break
            if time.monotonic() > deadline:
                unpaid[order_id] = (paid, total)
                break
            await asyncio.sleep(0.5)
    return unpaid


async def test_a_service_pauses_through_its_database_outage_and_resumes_by_itself(
    system: dict[str, Any], postgres: PostgresCluster
) -> None:
    rng = random.Random(18)
    deadline = time.monotonic() + DEADLINE_SECONDS
    victim_url = system["services"][VICTIM]["url"]
    async with httpx.AsyncClient(timeout=10) as client:
        shop = Shop(Edges.from_stack(system), client)
        await shop.put_stock(str(CATALOGUE[0]["sku"]), 100_000)
        placed: list[tuple[str, str]] = []
        journeys: list[asyncio.Future[dict[str, Any]]] = []

        async def place_for(seconds: float) -> None:
            """Places ORDERS_PER_WAVE orders spread over `seconds`, each then moved along."""
            for _ in range(ORDERS_PER_WAVE):
                method = "cash_on_delivery" if len(placed) % 3 == 0 else "card"
                body = order_body(rng, method, CATALOGUE, lines=1, quantity=1)
                placed.append((await place_through_outage(shop, body, deadline=deadline), method))
                journeys.append(asyncio.ensure_future(journey(shop, *placed[-1], deadline)))
                await asyncio.sleep(seconds / ORDERS_PER_WAVE)

        resumes: dict[str, float] = {}
        for how in ("stopped", "killed"):
            await place_for(4.0)  # a wave in flight when the database goes
            if how == "stopped":
                await asyncio.to_thread(postgres.stop)
            else:
                await asyncio.to_thread(kill_server, postgres)
            paused = await wait_readiness(client, victim_url, 503, timeout=15)
            assert any(r.startswith("database:") for r in paused["reasons"]), paused
            await place_for(DOWN_SECONDS)  # orders keep coming while it is down
            await asyncio.to_thread(postgres.start, 60.0)
            back = time.monotonic()
            await wait_readiness(client, victim_url, 200, timeout=60)
            resumes[how] = time.monotonic() - back
        await place_for(2.0)
        finals = await asyncio.gather(*journeys)

        stuck = {
            order_id: (method, final.get("status"))
            for (order_id, method), final in zip(placed, finals, strict=True)
            if final.get("status") != "completed"
        }
        assert not stuck, f"{len(stuck)} of {len(placed)} orders stopped moving: {stuck}"
        print(f"{VICTIM} ready again {resumes} s after its database returned")
        # paid exactly once, cash on delivery included (its collection, recorded by payment,
        # may reach the order after the order completed)
        unpaid = await settled(shop, [order_id for order_id, _ in placed], deadline + 30)
        assert not unpaid, f"orders not paid exactly their total: {unpaid}"

        ops = {"Authorization": f"Bearer {shop.edges.ops_key}"}
        for name in SERVICES:
            assert system["stack"].running_pid(name) is not None, f"{name} exited"
            url = system["services"][name]["url"]
            letters = await client.get(f"{url}/ops/dead-letters", headers=ops)
            assert letters.status_code == 200, (name, letters.text)
            assert letters.json()["dead_letters"] == [], (name, letters.json())
    print(f"{len(placed)} orders")
    for how, seconds in resumes.items():
        assert seconds <= RESUME_LIMIT_SECONDS, f"{how}: ready {seconds:.1f} s after the database"

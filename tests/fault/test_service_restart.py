"""A service killed (-9) under load and started again serves within seconds, not a minute.

The five services run as processes. Orders are placed and paid all along; the order
service is killed with SIGKILL while payments for its orders keep arriving, and started
again with the same configuration (the same `group.instance.id`). It must answer HTTP
within 5 s of its start and consume what was published meanwhile within 15 s; every order
ends paid exactly once (nothing lost, nothing applied twice).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.demo.shop import Edges, Shop, ShopError, order_body
from deploy.local.stack import SERVICES
from tests.support.infra import Infra
from tests.support.system import place_through_outage, start_system

pytestmark = [pytest.mark.fault]

HTTP_WITHIN_SECONDS = 5.0
CONSUMING_WITHIN_SECONDS = 15.0
DOWN_SECONDS = 3.0
ENV = {
    "ORDER_PAYMENT_WINDOW_SECONDS": "600",
    "LOGISTICS_SANDBOX_AUTO_ADVANCE_SECONDS": "0",
    "LOGISTICS_DEMO_CATALOGUE": "false",
    "LOGISTICS_SHIP_DELAY_SECONDS": "600",
    "NOTIFY_REMINDER_OFFSETS_SECONDS": "[]",
    # one replica per service, named: a restart takes its place in the consumer group
    **{f"{name.upper()}_CONSUMER_INSTANCE_ID": f"{name}-0" for name in SERVICES},
}
CATALOGUE = ({"sku": "FAULT-RESTART-MUG", "name": "Mug", "variant": None, "price": 4500},)


@pytest.fixture(scope="module")
async def system(infra: Infra) -> AsyncIterator[dict[str, Any]]:
    stack, state = await start_system(infra, ENV)
    state["stack"] = stack
    try:
        yield state
    finally:
        stack.stop_processes()


async def order_of(shop: Shop, order_id: str) -> dict[str, Any] | None:
    auth = {"Authorization": f"Bearer {shop.edges.shop_key}"}
    try:
        response = await shop.client.get(f"{shop.edges.order}/v1/orders/{order_id}", headers=auth)
    except httpx.HTTPError:
        return None
    return dict(response.json()) if response.status_code == 200 else None


async def pay(shop: Shop, order_id: str, paid: dict[str, float]) -> None:
    """Pays an order once its checkout exists (the payment service serves it: it is up)."""
    while True:
        order = await order_of(shop, order_id)
        url = order["payment"].get("checkout_url") if order else None
        if url:
            try:
                await shop.complete_checkout(url)
                paid[order_id] = time.monotonic()
                return
            except (httpx.HTTPError, ShopError):
                pass
        await asyncio.sleep(0.2)


async def until(check: Any, what: str, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout}s")


async def test_a_killed_service_serves_and_consumes_again_within_seconds(
    system: dict[str, Any],
) -> None:
    stack = system["stack"]
    url = system["services"]["order"]["url"]
    rng = random.Random(10)
    async with httpx.AsyncClient(timeout=5) as client:
        shop = Shop(Edges.from_stack(system), client)
        await shop.put_stock(CATALOGUE[0]["sku"], 100_000)
        placed: list[str] = []
        paid: dict[str, float] = {}
        payers: list[asyncio.Future[None]] = []
        stop = asyncio.Event()

        async def load() -> None:  # an order every 0.2 s, before, during and after the crash
            while not stop.is_set():
                body = order_body(rng, "card", CATALOGUE, lines=1, quantity=1)
                placed.append(await place_through_outage(shop, body, interval=0.2))
                if len(placed) % 2:  # the others are paid while the order service is down
                    payers.append(asyncio.ensure_future(pay(shop, placed[-1], paid)))
                await asyncio.sleep(0.2)

        loader = asyncio.ensure_future(load())
        await until(lambda: _true(len(paid) >= 5), "orders paid before the crash", 60)

        pid = stack.running_pid("order")
        environ = await asyncio.to_thread(Path(f"/proc/{pid}/environ").read_text)
        env = dict(line.split("=", 1) for line in environ.split("\0") if "=" in line)
        held = [o for n, o in enumerate(placed) if n % 2]
        checkouts = {o: await _checkout(shop, o) for o in held}
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        for checkout in checkouts.values():  # the payment service takes them meanwhile
            await shop.complete_checkout(checkout)
        await asyncio.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - killed_at)))
        paid_while_down = held

        started = time.monotonic()
        await asyncio.to_thread(
            stack.start_service, "order", env, system["services"]["order"]["port"]
        )

        probe = httpx.AsyncClient(timeout=2)  # its own: the load's client may be saturated
        not_ready: list[str] = []

        async def answers() -> bool:
            try:
                response = await probe.get(f"{url}/readyz")
            except httpx.HTTPError as exc:
                not_ready.append(f"{time.monotonic() - started:.1f}s {exc!r}")
                return False
            not_ready.append(f"{time.monotonic() - started:.1f}s {response.text[:300]}")
            return response.status_code == 200

        async def consumed() -> bool:
            orders = [await order_of(shop, o) for o in paid_while_down]
            return all(o is not None and o["status"] == "paid" for o in orders)

        http_seconds = await until(answers, "HTTP after the restart", 30)
        await probe.aclose()
        await until(consumed, "payments consumed after the restart", 60)
        consumed_seconds = time.monotonic() - started
        print(
            f"restart: HTTP after {http_seconds:.1f} s, consuming after {consumed_seconds:.1f} s"
            f" ({len(paid_while_down)} payments made while it was down)"
        )

        await asyncio.sleep(2)
        stop.set()
        await loader
        later = [o for n, o in enumerate(placed) if n % 2 and o not in checkouts]
        payers += [asyncio.ensure_future(pay(shop, o, paid)) for o in later]
        await asyncio.wait_for(asyncio.gather(*payers), 60)
        finals = [await _paid(shop, o) for o in placed]

    assert paid_while_down, "no payment arrived while the service was down"
    assert http_seconds < HTTP_WITHIN_SECONDS, not_ready
    assert consumed_seconds < CONSUMING_WITHIN_SECONDS
    assert len(set(placed)) == len(placed)  # a retried placement is one order
    for order in finals:
        paid_entries = [e for e in order["timeline"] if e["kind"] == "paid"]
        assert len(paid_entries) == 1, (order["order_id"], order["timeline"])
        assert order["totals"]["paid"]["amount"] == order["totals"]["total"]["amount"]


async def _checkout(shop: Shop, order_id: str) -> str:
    for _ in range(300):
        order = await order_of(shop, order_id)
        if order is not None and order["payment"].get("checkout_url"):
            return str(order["payment"]["checkout_url"])
        await asyncio.sleep(0.1)
    raise AssertionError(f"{order_id}: no checkout")


async def _true(value: bool) -> bool:
    return value


async def _paid(shop: Shop, order_id: str) -> dict[str, Any]:
    for _ in range(300):
        order = await order_of(shop, order_id)
        if order is not None and order["status"] == "paid":
            return order
        await asyncio.sleep(0.1)
    raise AssertionError(f"{order_id} never became paid")

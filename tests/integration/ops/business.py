"""The whole system as real processes (each with its own metrics), for the business
figures and `fulfil funnel`: an order driven through the shop's public edges."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import httpx

from deploy.demo.shop import Edges, Shop, order_body
from fulfil.funnel import Scrape, scrape
from tests.e2e.journeys import Driver
from tests.support.infra import Infra
from tests.support.system import start_system

# Timers in seconds; the carrier moves only when told; no reminders.
ENV = {
    "ORDER_PAYMENT_WINDOW_SECONDS": "120",
    "LOGISTICS_SANDBOX_AUTO_ADVANCE_SECONDS": "0",
    "LOGISTICS_DEMO_CATALOGUE": "false",
    "LOGISTICS_SHIP_DELAY_SECONDS": "1",
    "NOTIFY_QUIET_HOURS_START": "00:00",
    "NOTIFY_QUIET_HOURS_END": "00:00",
    "NOTIFY_REMINDER_OFFSETS_SECONDS": "[]",
    "NOTIFY_SENDER_POLL_SECONDS": "0.2",
}
ITEM = {"sku": "BIZ-TEE-M", "name": "Cotton tee", "variant": "M / white", "price": 9900}


async def running_system(infra: Infra) -> AsyncIterator[tuple[dict[str, Any], Shop]]:
    stack, state = await start_system(infra, ENV)
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            shop = Shop(Edges.from_stack(state), client)
            await shop.put_stock(ITEM["sku"], 10_000)
            yield state, shop
    finally:
        stack.stop_processes()


def urls(state: dict[str, Any]) -> dict[str, str]:
    return {name: str(svc["url"]) for name, svc in state["services"].items()}


async def figures(state: dict[str, Any]) -> Scrape:
    found = await scrape(urls(state))
    assert not found.errors, found.errors
    return found


async def place(shop: Shop, method: str = "card") -> str:
    body = order_body(random.Random(), method, (ITEM,), lines=1, quantity=1)
    return str((await shop.place_order(body))["order_id"])


async def deliver_paid_order(shop: Shop, *, callbacks: int = 1) -> str:
    """An order placed, paid (the provider reporting it `callbacks` times), shipped and
    delivered; its id."""
    order_id = await place(shop)
    driver = Driver(shop)
    await driver.pay(order_id, repeat=callbacks)
    await driver.deliver(order_id)
    return order_id

"""Exchanges in the demo: a customer who received a T-shirt asks, within the no-reason
window, for another variant of it (the same price, a dearer or a cheaper one, now and then
for a quality problem), sends the shirt back, pays the difference when there is one, and
operations record the return received. The calls go through the returns service's public
edge like any storefront's."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from deploy.demo.shop import Shop

SHIRT: dict[str, Any] = {
    "sku": "TEE-WHT-M",
    "name": "Cotton T-shirt",
    "variant": "White / M",
    "price": 7900,
}
# The other variants a customer may exchange it for, each with its catalogue price: the
# same price (no difference), dearer (the customer pays the difference first) and cheaper
# (the difference is refunded once the shirt is back).
VARIANTS: tuple[dict[str, Any], ...] = (
    {"sku": "TEE-BLK-M", "name": "Cotton T-shirt", "variant": "Black / M", "price": 7900},
    {"sku": "TEE-WHT-XL", "name": "Cotton T-shirt", "variant": "White / XL", "price": 8900},
    {"sku": "TEE-WHT-S", "name": "Cotton T-shirt", "variant": "White / S", "price": 6900},
)
QUALITY_SHARE = 0.25  # exchanges asked for a quality problem: the replacement leaves at once
REASONS = ("changed_mind",)  # the no-reason window: another size or colour

Act = Callable[[str, Awaitable[Any]], Awaitable[Any]]


async def request_exchange(
    shop: Shop, order_id: str, line_id: str, replacement_sku: str, reason: str, quantity: int = 1
) -> dict[str, Any]:
    """The customer's exchange request (returns): 201 with the exchange, or a ShopError."""
    headers = {**shop.shop_headers, "Idempotency-Key": uuid.uuid4().hex}
    body = {
        "line_id": line_id,
        "quantity": quantity,
        "replacement_sku": replacement_sku,
        "reason": reason,
    }
    url = f"{shop.edges.returns}/v1/orders/{order_id}/exchanges"
    return await shop.call("exchange request", "POST", url, headers, body)


async def exchange(shop: Shop, exchange_id: str) -> dict[str, Any]:
    url = f"{shop.edges.returns}/v1/exchanges/{exchange_id}"
    return await shop.call("exchange", "GET", url, shop.shop_headers)


async def ship_exchange_return(
    shop: Shop, exchange_id: str, courier: str, tracking: str
) -> dict[str, Any]:
    url = f"{shop.edges.returns}/v1/exchanges/{exchange_id}/return-shipment"
    body = {"courier": courier, "tracking_number": tracking}
    return await shop.call("exchange return shipment", "POST", url, shop.shop_headers, body)


async def exchange_return_received(shop: Shop, exchange_id: str) -> dict[str, Any]:
    """Operations: the exchanged units are back with the shop."""
    url = f"{shop.edges.returns}/v1/exchanges/{exchange_id}/return-received"
    return await shop.call("exchange return received", "POST", url, shop.ops_headers, {})


async def set_price(shop: Shop, sku: str, amount: int, currency: str) -> dict[str, Any]:
    """Operations: the SKU's selling price from now on (logistics' catalogue)."""
    url = f"{shop.edges.logistics}/v1/prices/{sku}"
    body = {"amount": amount, "currency": currency}
    return await shop.call("set price", "PUT", url, shop.ops_headers, body)


async def prepare(shop: Shop) -> None:
    """Stock and catalogue prices for the shirt's other variants."""
    for item in VARIANTS:
        await shop.put_stock(item["sku"], on_hand=100_000, threshold=50,
                             name=item["name"], variant=item["variant"])  # fmt: skip
        await set_price(shop, item["sku"], item["price"], "CNY")


def pick(rng: random.Random) -> tuple[str, str]:
    """The replacement a customer wants and why."""
    replacement = rng.choice(VARIANTS)["sku"]
    reason = "damaged" if rng.random() < QUALITY_SHARE else rng.choice(REASONS)
    return replacement, reason


class Exchanger:
    """One demo's exchanging customers: asks once the shirt is delivered, then follows
    what returns and payment publish for the exchange."""

    def __init__(self, shop: Shop, rng: random.Random, act: Act) -> None:
        self.shop = shop
        self.rng = rng
        self.act = act
        self.pace = 1.0  # scales every wait (tests shorten them)

    async def _wait(self, low: float, high: float) -> None:
        await asyncio.sleep(self.rng.uniform(low, high) * self.pace)

    async def ask(self, order_id: str, line_id: str) -> None:
        await self._wait(1, 4)
        replacement, reason = pick(self.rng)
        call = request_exchange(self.shop, order_id, line_id, replacement, reason)
        await self.act("exchange request", call)

    async def on_accepted(self, payload: dict[str, Any]) -> None:
        """Sends the shirt back; operations receive it a few seconds later."""
        exchange_id = str(payload["exchange_id"])
        await self._wait(2, 5)
        tracking = f"EX{self.rng.randrange(10**9, 10**10)}"
        shipped = ship_exchange_return(self.shop, exchange_id, "sf", tracking)
        if await self.act("exchange return shipment", shipped) is None:
            return
        await self._wait(3, 6)
        await self.act("exchange return received", exchange_return_received(self.shop, exchange_id))

    async def on_payment_requested(self, payload: dict[str, Any]) -> None:
        """Pays the difference for a dearer variant on the provider's checkout page."""
        url = payload.get("checkout_url")
        if not url:
            return
        await self._wait(0.5, 3)
        await self.act("pay exchange difference", self.shop.complete_checkout(str(url)))

"""Customer journeys through the public edges, and what each must end in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from deploy.demo.shop import Shop, ShopError

TRACKING_STEPS = 8  # more advances than the sandbox carrier's script has checkpoints


@dataclass
class Journey:
    name: str
    status: str  # the terminal status the order must reach
    net: int | None  # money kept: captured - refunded (None: the order total)
    messages: frozenset[str]  # templates sent once per channel
    optional: frozenset[str] = frozenset()  # may be sent (timing-dependent), still at most once
    reminders: tuple[int, int] = (0, 3)
    shipped: bool = True  # stock leaves the warehouse
    returned: bool = False  # and comes back
    order: dict[str, Any] = field(default_factory=dict)


async def poll(
    probe: Callable[[], Awaitable[Any]], what: str, timeout: float = 90.0, interval: float = 0.3
) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")


class Driver:
    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.client = shop.client
        self.auth = {"Authorization": f"Bearer {shop.edges.shop_key}"}

    async def order(self, order_id: str) -> dict[str, Any]:
        response = await self.client.get(
            f"{self.shop.edges.order}/v1/orders/{order_id}", headers=self.auth
        )
        response.raise_for_status()
        return dict(response.json())

    async def until(
        self, order_id: str, check: Callable[[dict[str, Any]], bool], what: str
    ) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            order = await self.order(order_id)
            return order if check(order) else None

        return dict(await poll(probe, f"{order_id} {what}"))

    async def status(self, order_id: str, *statuses: str) -> dict[str, Any]:
        return await self.until(order_id, lambda o: o["status"] in statuses, f"status {statuses}")

    async def checkout(self, order_id: str) -> str:
        order = await self.until(
            order_id,
            lambda o: bool(o["payment"].get("checkout_url") or o["payment"].get("pay_link")),
            "payment instructions",
        )
        return str(order["payment"].get("checkout_url") or order["payment"]["pay_link"])

    async def pay(self, order_id: str, *, repeat: int = 1) -> None:
        await self.shop.complete_checkout(await self.checkout(order_id), repeat=repeat)

    async def shipped(self, order_id: str) -> dict[str, Any]:
        """The order once its parcel left, whatever its status (a surcharge refunded
        reads partially refunded)."""
        return await self.until(
            order_id, lambda o: bool((o.get("shipment") or {}).get("tracking_number")), "shipped"
        )

    async def deliver(self, order_id: str) -> dict[str, Any]:
        order = await self.status(order_id, "shipped")
        shipment = order["shipment"]
        for _ in range(TRACKING_STEPS):
            current = await self.order(order_id)
            if current["status"] not in ("shipped",):
                break
            try:
                await self.shop.advance_parcel(shipment["courier"], shipment["tracking_number"])
            except ShopError as refused:
                if refused.status != 409:  # 409: delivered already; the order will follow
                    raise
                break
            await asyncio.sleep(0.3)
        return await self.status(order_id, "delivered", "completed")

    async def bring_back(self, courier: str, tracking: str, order_id: str) -> dict[str, Any]:
        """Walks a refused parcel home through the sandbox courier until the order's
        timeline says the shop has it back."""
        for _ in range(TRACKING_STEPS):
            order = await self.order(order_id)
            if any(e["kind"] == "returned_to_shop" for e in order["timeline"]):
                return order
            try:
                await self.shop.advance_parcel(courier, tracking)
            except ShopError as refused:
                if refused.status != 409:  # 409: home already; the timeline will follow
                    raise
                break
            await asyncio.sleep(0.3)
        return await self.until(
            order_id,
            lambda o: any(e["kind"] == "returned_to_shop" for e in o["timeline"]),
            "parcel back at the shop",
        )

    async def payment(self, order_id: str) -> dict[str, Any]:
        response = await self.client.get(
            f"{self.shop.edges.payment}/v1/orders/{order_id}/payment", headers=self.auth
        )
        response.raise_for_status()
        return dict(response.json())

    async def messages(self, order_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"{self.shop.edges.notify}/v1/orders/{order_id}/messages", headers=self.auth
        )
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return list(response.json()["messages"])

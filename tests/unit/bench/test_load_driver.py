"""The load driver places what the open loop asks and completes each checkout once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

from deploy.demo.shop import Shop
from deploy.demo.topics import Record, TopicTap
from tests.bench.load import Phase
from tests.support.polling import eventually


class FakeShop:
    def __init__(self) -> None:
        self.placed = 0
        self.checkouts: list[str] = []

    async def place_order(self, body: dict[str, Any]) -> dict[str, Any]:
        self.placed += 1
        return {"order_id": f"ord_{self.placed}"}

    async def complete_checkout(self, url: str, outcome: str = "succeed") -> dict[str, Any]:
        self.checkouts.append(url)
        return {}


class FakeTap:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[list[Record]] = asyncio.Queue()

    async def batches(self, timeout_ms: int = 200) -> AsyncIterator[list[Record]]:
        while True:
            yield await self.queue.get()


def payment_requested(order_id: str) -> Record:
    return Record(
        topic="payments.v1", type="PaymentRequested", event_id=f"ev_{order_id}",
        order_id=order_id, occurred_at=datetime.now(UTC),
        payload={"checkout_url": f"http://pay/checkout/{order_id}"}, timestamp_ms=0,
    )  # fmt: skip


def phase() -> tuple[Phase, FakeShop, FakeTap]:
    shop, tap = FakeShop(), FakeTap()
    return Phase(cast(Shop, shop), cast(TopicTap, tap)), shop, tap


async def test_the_open_loop_places_rate_times_duration_orders() -> None:
    load, shop, _ = phase()

    await load.open_loop(rate=2000, duration=0.1)
    await eventually(lambda: _done(load), what="placements done")

    assert shop.placed == 200
    assert len(load.placed_ids) == 200


async def test_a_checkout_is_completed_once_whichever_comes_first() -> None:
    load, shop, tap = phase()
    observer = asyncio.create_task(load.observe())
    try:
        await tap.queue.put([payment_requested("ord_1")])  # before the HTTP answer
        await eventually(lambda: _seen(load, "ord_1"), what="checkout url seen")
        await load.place_one()  # ord_1
        await load.place_one()  # ord_2, its PaymentRequested after the answer, then again
        await tap.queue.put([payment_requested("ord_2")])
        await tap.queue.put([payment_requested("ord_2"), payment_requested("ord_1")])
        await eventually(lambda: _checkouts(shop, 2), what="two checkouts")
        await eventually(lambda: _read(tap), what="every batch read")
        await eventually(lambda: _done(load), what="tasks done")
    finally:
        observer.cancel()

    assert sorted(shop.checkouts) == ["http://pay/checkout/ord_1", "http://pay/checkout/ord_2"]


async def _done(load: Phase) -> bool:
    return not load.tasks


async def _read(tap: FakeTap) -> bool:
    return tap.queue.empty()


async def _seen(load: Phase, order_id: str) -> bool:
    return order_id in load.checkout_urls


async def _checkouts(shop: FakeShop, count: int) -> bool:
    return len(shop.checkouts) >= count


def event(order_id: str, type_: str, payload: dict[str, Any] | None = None) -> Record:
    return Record(
        topic="any.v1", type=type_, event_id=f"{type_}_{order_id}", order_id=order_id,
        occurred_at=datetime.now(UTC), payload=payload or {}, timestamp_ms=1,
    )  # fmt: skip


async def test_a_closed_loop_client_places_its_next_order_once_the_last_is_done() -> None:
    load, shop, tap = phase()
    observer = asyncio.create_task(load.observe())
    client = asyncio.create_task(load.closed_loop(concurrency=1, duration=60))
    try:
        await eventually(lambda: _placed(shop, 1), what="the first order placed")
        await tap.queue.put([event("ord_1", "OrderPlaced"), event("ord_1", "ShipmentDelivered")])
        await eventually(lambda: _read(tap), what="delivery read")
        assert shop.placed == 1  # delivered, but its confirmation has not gone out yet

        sent = event("ord_1", "NotificationSent", {"source_event_id": "OrderPlaced_ord_1"})
        await tap.queue.put([sent])
        await eventually(lambda: _placed(shop, 2), what="the next order placed")
    finally:
        client.cancel()
        observer.cancel()

    assert load.completed() == ["ord_1"]


async def _placed(shop: FakeShop, count: int) -> bool:
    return shop.placed == count

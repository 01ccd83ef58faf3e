"""The demo's simulated world: operations announce one sales peak a run once parcels wait,
the warehouse puts back the goods of shipments stopped after picking, a 409 being no
error, and the customers of the scarce item answer their backorder while operations
receive goods for those who wait."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any, cast

from deploy.demo.backorders import RESTOCK_AT_MOST
from deploy.demo.driver import DELAY_AFTER_WAITING, SCARCE, Customer, Driver
from deploy.demo.shop import Answer, Shop, ShopError
from deploy.demo.topics import Record
from tests.support.polling import eventually


def refusal(status: int, code: str) -> ShopError:
    return ShopError("refused", Answer(status, json.dumps({"error": code}).encode()))


class FakeShop:
    """The edges the warehouse and operations call; `stopped_at`: the step at which each
    shipment is found stopped (a 409 `not_in_warehouse`)."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, str]] = []
        self.stopped_at: dict[str, str] = {}
        self.put_backs: list[str] = []
        self.announced: list[tuple[str, dict[str, Any]]] = []
        self.to_put_back: list[dict[str, Any]] = []
        self.cancelled: list[str] = []
        self.listed = 0  # looks at the put-back list

    async def warehouse_step(
        self, shipment_id: str, step: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if self.stopped_at.get(shipment_id) == step:
            raise refusal(409, "not_in_warehouse")
        self.steps.append((shipment_id, step))
        return {"shipment_id": shipment_id, "stage": step}

    async def put_back(self, shipment_id: str) -> dict[str, Any]:
        if not shipment_id.startswith("shp_stopped"):
            raise refusal(409, "nothing_to_put_back")
        self.put_backs.append(shipment_id)
        return {"shipment_id": shipment_id, "put_back_at": "2026-12-04T10:00:00+00:00"}

    async def put_back_list(self, limit: int = 100) -> list[dict[str, Any]]:
        self.listed += 1
        return list(self.to_put_back)

    async def announce_delay(self, delay_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.announced.append((delay_id, body))
        return {"delay_id": delay_id, "covered": 3, "told": 0} | body

    async def cancel(self, order_id: str) -> dict[str, Any]:
        self.cancelled.append(order_id)
        return {"order_id": order_id}


def driver() -> tuple[Driver, FakeShop]:
    shop = FakeShop()
    d = Driver(cast(Shop, shop), rate=1, mix={"pay_now": 1}, seed=1)
    d.warehouse_pace = (0.0, 0.01)
    return d, shop


def event(order_id: str, type_: str, payload: dict[str, Any] | None = None) -> Record:
    return Record(
        topic="logistics.v1", type=type_, event_id=f"{type_}_{order_id}", order_id=order_id,
        occurred_at=datetime.now(UTC), payload=payload or {}, timestamp_ms=1,
    )  # fmt: skip


def waiting(d: Driver, order_id: str, shipment_id: str, scenario: str = "pay_now") -> None:
    """A paid customer whose parcel now waits in the warehouse."""
    d.customers[order_id] = Customer(order_id, scenario, {"lines": [{"quantity": 1}]})
    d.on_records([event(order_id, "ShippingPromiseSet", {"shipment_id": shipment_id})])


async def settled(d: Driver) -> None:
    await eventually(lambda: _idle(d), what="the driver's tasks done")


async def _idle(d: Driver) -> bool:
    return not d.tasks


async def test_operations_announce_one_peak_a_run_once_parcels_wait() -> None:
    d, shop = driver()
    for i in range(DELAY_AFTER_WAITING - 1):
        waiting(d, f"ord_{i}", f"shp_{i}")
    await settled(d)
    assert not shop.announced, "not before enough parcels wait"

    for i in range(DELAY_AFTER_WAITING - 1, DELAY_AFTER_WAITING + 5):
        waiting(d, f"ord_{i}", f"shp_{i}")
    await settled(d)

    [(delay_id, body)] = shop.announced
    start, end = date.fromisoformat(body["expected_from"]), date.fromisoformat(body["expected_to"])
    assert body["cause"] == "peak" and body["region"] == "Zhejiang" and 1 <= body["days"] <= 5
    assert (end - start).days == 7 and delay_id.startswith("demo-peak-")
    assert d.actions["announce delay"] == 1 and not d.errors


async def test_the_warehouse_puts_back_the_goods_of_a_shipment_stopped_after_picking() -> None:
    d, shop = driver()
    shop.stopped_at = {"shp_stopped_packing": "packed", "shp_stopped_handing": "handed-over"}
    shop.stopped_at["shp_stopped_early"] = "picked"  # nothing was picked: nothing goes back
    waiting(d, "ord_1", "shp_stopped_packing")
    waiting(d, "ord_2", "shp_stopped_handing")
    waiting(d, "ord_3", "shp_stopped_early")
    waiting(d, "ord_4", "shp_ships")
    await settled(d)

    assert sorted(shop.put_backs) == ["shp_stopped_handing", "shp_stopped_packing"]
    assert d.actions["warehouse put-back"] == 2
    assert d.actions["warehouse handed-over"] == 1, "the one not stopped ships"
    assert not d.errors, "a stopped shipment's 409 is no error"


async def test_the_put_back_list_is_swept_and_each_shipment_put_back_once() -> None:
    d, shop = driver()
    shop.to_put_back = [{"shipment_id": "shp_stopped_1"}, {"shipment_id": "shp_stopped_2"}]
    stop = asyncio.Event()
    sweeper = asyncio.create_task(d.put_back_forever(stop, every=0.01))
    try:
        await eventually(lambda: _put_back(shop, 2), what="both put back")
        await eventually(lambda: _listed(shop, 3), what="later sweeps see the same list")
    finally:
        stop.set()
        await sweeper

    assert sorted(shop.put_backs) == ["shp_stopped_1", "shp_stopped_2"]
    assert d.actions["warehouse put-back"] == 2 and "put-back list" not in d.actions
    assert not d.errors


async def _put_back(shop: FakeShop, count: int) -> bool:
    return len(shop.put_backs) >= count


async def _listed(shop: FakeShop, count: int) -> bool:
    return shop.listed >= count


async def test_a_customer_cancels_once_the_goods_are_picked() -> None:
    d, shop = driver()
    d.customers["ord_1"] = Customer("ord_1", "cancel_after_picking", {})
    d.on_records([event("ord_1", "ShipmentPicked", {"shipment_id": "shp_1"})] * 2)
    await settled(d)

    assert shop.cancelled == ["ord_1"]
    assert d.actions["cancel picked"] == 1


class BackorderShop(FakeShop):
    """The backorder edges: the customers' answers, the queue, the goods received."""

    def __init__(self, queue: list[dict[str, Any]]) -> None:
        super().__init__()
        self.answers: list[tuple[str, str]] = []
        self.queue = queue
        self.received: list[tuple[str, int]] = []

    async def backorder_choice(self, order_id: str, choice: str) -> dict[str, Any]:
        self.answers.append((order_id, choice))
        return {"order_id": order_id}

    async def backorders(self, sku: str) -> dict[str, Any]:
        return {"sku": sku, "backorders": self.queue}

    async def receive_stock(self, sku: str, quantity: int) -> dict[str, Any]:
        self.received.append((sku, quantity))
        self.queue = []
        return {"sku": sku, "on_hand": quantity}


async def test_a_backordered_customer_answers_once_or_leaves_it_to_the_default() -> None:
    shop = BackorderShop([])
    d = Driver(cast(Shop, shop), rate=1, mix={"stock_shortage": 1}, seed=7)
    d.answer_pace = (0.0, 0.01)
    for i in range(40):
        d.customers[f"ord_{i}"] = Customer(f"ord_{i}", "stock_shortage", {})
        d.on_records([event(f"ord_{i}", "StockBackordered")] * 2)
    await settled(d)

    answered = [order_id for order_id, _ in shop.answers]
    assert len(answered) == len(set(answered)), "one answer per order"
    choices = {choice for _, choice in shop.answers}
    assert choices == {"ship_available", "wait"}
    assert 10 < len(answered) < 40, "some leave it to the deadline's default"
    assert d.actions["backorder choice"] == len(answered) and not d.errors


async def test_operations_receive_a_small_delivery_while_orders_wait() -> None:
    queue = [{"order_id": f"ord_{i}", "quantity": 2} for i in range(6)]
    shop = BackorderShop(queue)
    d = Driver(cast(Shop, shop), rate=1, mix={"stock_shortage": 1}, seed=7)
    stop = asyncio.Event()
    restocker = asyncio.create_task(d.restock_forever(stop, every=0.01))
    try:
        await eventually(lambda: _received(shop), what="a delivery received")
        await asyncio.sleep(0.05)  # later looks find nobody waiting
    finally:
        stop.set()
        await restocker

    assert shop.received == [(SCARCE["sku"], RESTOCK_AT_MOST)]
    assert not d.errors


async def _received(shop: BackorderShop) -> bool:
    return bool(shop.received)

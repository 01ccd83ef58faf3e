"""Stock: no overselling (through Kafka and under concurrent transactions), release on
cancel and close, the low-stock warning once per crossing, and the operations API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from services.logistics.handlers import on_order_placed
from shared.contracts.events.order import OrderCancelled, OrderClosed
from shared.messages import Incoming, RawMessage
from shared.runtime import Runtime
from tests.integration.logistics.support import (
    Logistics,
    of,
    placed,
)
from tests.support.events import new_id, paid, payload, wrap
from tests.support.http import OPS, client
from tests.support.kafka import TopicTail


async def test_fifty_orders_racing_for_ten_units_get_ten_reservations_and_forty_shortages(
    lg: Logistics, tail: TopicTail
) -> None:
    orders = [new_id("ord") for _ in range(50)]
    async with lg.running():
        sku = await lg.stocked(on_hand=10, threshold=3)
        await asyncio.gather(*(lg.send(placed([(sku, 1)]), order_id) for order_id in orders))
        outcomes = await tail.wait_for(
            lambda r: (
                r.key in {o.encode() for o in orders}
                and r.type in ("StockReserved", "StockRanShort")
            ),
            count=50,
            timeout=60,
        )
        level = await lg.stock(sku)
        await tail.poll()
    by_type = [r.type for r in outcomes]
    assert by_type.count("StockReserved") == 10
    assert by_type.count("StockRanShort") == 40
    shortage = next(payload(r) for r in outcomes if r.type == "StockRanShort")
    assert shortage["lines"] == [{"sku": sku, "requested": 1, "available": 0}]
    assert (level["on_hand"], level["reserved"], level["available"]) == (10, 10, 0)
    warnings = [r for r in tail.records if r.topic == "stock.v1" and r.key == sku.encode()]
    assert [r.type for r in warnings] == ["StockRanLow"], "once per crossing, not per order"
    assert payload(warnings[0])["available"] == 2 and payload(warnings[0])["threshold"] == 3


async def test_fifty_concurrent_transactions_never_reserve_more_than_is_on_hand(
    lg: Logistics,
) -> None:
    """Replicas reserve in parallel: the row locks, not the single consumer, keep the count
    (backorders off: a short order holds nothing; test_backorders.py has them on)."""
    sku, other = new_id("SKU"), new_id("SKU")
    async with lg.running(http=True, database_pool_size=25, backorders=False) as runtime:
        await lg.put_stock(sku, on_hand=10)
        await lg.put_stock(other, on_hand=100)

        async def place(i: int) -> list[str]:
            lines = [(sku, 1), (other, 1)] if i % 2 else [(other, 1), (sku, 1)]
            envelope = wrap(placed(lines), new_id("ord"))
            message: Incoming[Any] = Incoming(
                envelope, placed(lines), RawMessage("orders.v1", 0, i, None, None)
            )
            async with runtime.unit(correlation_id=envelope.correlation_id) as unit:
                await on_order_placed(unit, message)
                return [e.type for e in unit.emitted]

        emitted = await asyncio.gather(*(place(i) for i in range(50)))
        level, rest = await lg.stock(sku), await lg.stock(other)
    served = [types for types in emitted if "StockReserved" in types]
    assert len(served) == 10
    assert sum("StockRanShort" in types for types in emitted) == 40
    assert (level["reserved"], level["available"]) == (10, 0)
    assert rest["reserved"] == 10, "a short order holds none of its other lines either"


async def test_cancel_and_close_give_the_stock_back_once(lg: Logistics, tail: TopicTail) -> None:
    cancelled, closed = new_id("ord"), new_id("ord")
    async with lg.running():
        sku = await lg.stocked(on_hand=5, threshold=2)
        await lg.send(placed([(sku, 2)]), cancelled)
        await lg.send(placed([(sku, 2)]), closed)
        await tail.wait_for(
            lambda r: r.type == "StockReserved" and r.key in _keys(cancelled, closed), count=2
        )
        assert (await lg.stock(sku))["available"] == 1
        cancel = await lg.send(OrderCancelled(reason="customer_request", was_paid=False), cancelled)

        await lg.resend(cancel)  # the same event delivered twice
        await lg.send(OrderCancelled(reason="customer_request", was_paid=False), cancelled)
        await lg.send(OrderClosed(), closed)
        released = await tail.wait_for(
            lambda r: r.type == "StockReleased" and r.key in _keys(cancelled, closed), count=2
        )
        level = await lg.settled_stock(sku)
    assert sorted(payload(r)["reason"] for r in released) == [
        "order_cancelled:customer_request",
        "order_closed:payment_window_expired",
    ]
    assert (
        len(
            [
                r
                for r in tail.records
                if r.type == "StockReleased" and r.key in _keys(cancelled, closed)
            ]
        )
        == 2
    )
    assert (level["reserved"], level["available"]) == (1, 4)
    warnings = [r for r in tail.records if r.topic == "stock.v1" and r.key == sku.encode()]
    assert len(warnings) == 1, "warned under 2 once; the release cleared it; 4 is above it"


async def test_an_order_cancelled_before_logistics_saw_it_placed_reserves_nothing(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    async with lg.running():
        sku = await lg.stocked(on_hand=3)
        await lg.send(OrderCancelled(reason="customer_request", was_paid=False), order_id)
        await lg.send(placed([(sku, 1)]), order_id)
        level = await lg.settled_stock(sku)
    assert not [r for r in tail.records if of(order_id)(r)]
    assert level["reserved"] == 1


async def test_the_stock_api_needs_the_ops_key_and_refuses_bad_counts(
    lg: Logistics, tail: TopicTail
) -> None:
    sku, order_id = new_id("SKU"), new_id("ord")
    async with lg.running() as runtime, client(runtime) as http:
        anonymous = await http.put(f"/v1/stock/{sku}", json={"on_hand": 5})
        wrong = await http.put(
            f"/v1/stock/{sku}", json={"on_hand": 5}, headers={"Authorization": "Bearer no"}
        )
        negative = await http.put(f"/v1/stock/{sku}", json={"on_hand": -1}, headers=OPS)
        unknown = await http.get(f"/v1/stock/{sku}", headers=OPS)
        await lg.put_stock(sku, on_hand=4)
        await lg.reserve(order_id, sku, 3)
        below = await http.put(f"/v1/stock/{sku}", json={"on_hand": 2}, headers=OPS)
        east = await http.put(
            f"/v1/stock/{sku}", json={"on_hand": 6, "warehouse": "east"}, headers=OPS
        )
        catalogue = await http.post("/v1/stock/catalogue", headers=OPS)
        demo = await http.get("/v1/stock/TEE-WHT-M", headers=OPS)
    assert (anonymous.status_code, wrong.status_code) == (401, 403)
    assert negative.status_code == 422 and negative.json()["fields"][0]["field"] == "on_hand"
    assert unknown.status_code == 404
    assert below.status_code == 200, "a short count is recorded (the order is withdrawn)"
    assert (below.json()["on_hand"], below.json()["reserved"]) == (2, 0)
    assert east.json()["on_hand"] == 8 and east.json()["available"] == 8
    assert catalogue.json()["added"] == 10
    assert demo.json()["name"] == "Cotton T-shirt" and demo.json()["available"] == 120


async def test_a_short_recount_cancels_the_newest_orders_and_the_rest_ship(
    lg: Logistics, tail: TopicTail
) -> None:
    """Three paid orders hold 2 each; a count of 4 is recorded: the newest is withdrawn
    (StockRanShort, which the order service cancels and refunds with an apology), the two
    older ship, and an order shipped before the count is untouched."""
    gone, older, old, newest = (new_id("ord") for _ in range(4))
    async with lg.running(ship_delay_seconds=3600) as runtime:
        sku = await lg.stocked(on_hand=8)
        for order_id in (gone, older, old, newest):
            await lg.reserve(order_id, sku, 2)
            await lg.send(paid(19_800), order_id)
            await tail.wait_for(of(order_id, "ShippingPromiseSet"))
            if order_id == gone:
                await _ship_now(runtime, gone)
                await tail.wait_for(of(gone, "ShipmentShipped"))
        async with client(runtime) as http:
            recount = await http.put(f"/v1/stock/{sku}", json={"on_hand": 4}, headers=OPS)
        [short] = await tail.wait_for(of(newest, "StockRanShort"))
        for order_id in (older, old):
            await _ship_now(runtime, order_id)
        shipped = await tail.wait_for(of(older, "ShipmentShipped")) + await tail.wait_for(
            of(old, "ShipmentShipped")
        )
        level = await lg.stock(sku)
    assert recount.status_code == 200, recount.text
    assert (recount.json()["on_hand"], recount.json()["reserved"]) == (4, 4)
    assert payload(short)["lines"] == [{"sku": sku, "requested": 2, "available": 0}]
    assert [r.type for r in tail.records if of(newest)(r)][-3:] == [
        "ShipmentCancelled",
        "StockReleased",
        "StockRanShort",
    ]
    assert len(shipped) == 2, "the two older orders keep their units and ship"
    assert (level["on_hand"], level["reserved"]) == (0, 0), "nothing held beyond the count"
    assert not [r for r in tail.records if of(gone, "ShipmentCancelled", "StockRanShort")(r)]


async def _ship_now(runtime: Runtime, order_id: str) -> None:
    """The warehouse hands the parcel over now: its dispatch timer is brought forward."""
    async with runtime.db.acquire() as conn:
        await conn.execute(
            "UPDATE timers SET due_at = $2 WHERE kind = 'ship' AND key = $1",
            order_id,
            datetime.now(UTC) - timedelta(seconds=1),
        )


def _keys(*order_ids: str) -> set[bytes]:
    return {o.encode() for o in order_ids}

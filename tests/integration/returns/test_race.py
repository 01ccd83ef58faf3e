"""The race between a paid order's cancellation and its dispatch, with returns and logistics
both running: each order is either stopped and refunded before shipping exactly once, or
shipped and its refund turned into a return the customer is told of; never both."""

from __future__ import annotations

import asyncio
from typing import Any

from shared.runtime import Runtime
from tests.integration.logistics.support import Logistics, placed
from tests.integration.returns.support import cancellation, fetch, until_order
from tests.support.events import new_order_id, of, paid, payload, seen, send
from tests.support.infra import Infra
from tests.support.kafka import Record, TopicTail

ORDERS = 10
SHIP_DELAY = 0.6  # the parcel is due at once; the cancellations straddle the moment it leaves
PRICE = 9_900


async def _race_one(infra: Infra, returns: Runtime, tail: TopicTail, sku: str, lag: float) -> str:
    order_id = new_order_id()
    await send(infra, placed([(sku, 1)]), order_id)
    await tail.wait_for(of(order_id, "StockReserved"))
    await until_order(returns, order_id, lambda o: bool(o.lines))
    cancel = cancellation(PRICE)

    async def cancel_later() -> None:
        await asyncio.sleep(lag)  # the customer's click, some moment after paying
        await send(infra, cancel, order_id)

    await asyncio.gather(send(infra, paid(PRICE), order_id), cancel_later())
    return order_id


def _payloads(tail: TopicTail, order_id: str, event_type: str) -> list[dict[str, Any]]:
    return [payload(r) for r in seen(tail, order_id, event_type)]


def _decided(record: Record, order_id: str) -> bool:
    """Returns' last word on the request: approved, or turned into a return."""
    if not of(order_id, "RefundApproved", "RefundRequested")(record):
        return False
    body = record.json()["payload"]
    return record.type == "RefundApproved" or body["flow"] == "with_return"


async def test_a_cancellation_racing_the_dispatch_never_both_ships_and_refunds_before_shipping(
    infra: Infra, returns: Runtime, tail: TopicTail
) -> None:
    database = await infra.create_database("logistics")
    sku = f"SKU-RACE-{new_order_id()}"
    logistics = Logistics(infra, database, tail)
    async with logistics.running(ship_delay_seconds=SHIP_DELAY) as runtime:
        await logistics.put_stock(sku, on_hand=ORDERS)
        lags = [SHIP_DELAY * 2 * i / (ORDERS - 1) for i in range(ORDERS)]
        orders = await asyncio.gather(*(_race_one(infra, returns, tail, sku, s) for s in lags))
        for order_id in orders:
            [last] = await tail.wait_for(lambda r, o=order_id: _decided(r, o), timeout=30)
            if last.type == "RefundRequested":
                await tail.wait_for(of(order_id, "ShipmentShipped"))
        async with runtime.db.acquire() as conn:
            parcels = dict(
                await conn.fetch(
                    "SELECT order_id, status FROM shipments WHERE order_id = ANY($1::text[])",
                    orders,
                )
            )

    outcomes = []
    for order_id in orders:
        shipped = _payloads(tail, order_id, "ShipmentShipped")
        approved = _payloads(tail, order_id, "RefundApproved")
        requested = _payloads(tail, order_id, "RefundRequested")
        [request_id] = {r["refund_request_id"] for r in requested}
        found = await fetch(returns, request_id, order_id)
        if shipped:
            [left] = _payloads(tail, order_id, "ShipmentAlreadyDispatched")
            assert left["shipment_id"] == shipped[0]["shipment_id"]
            assert left["tracking_number"] in (None, shipped[0]["tracking_number"]), (
                "named when the booking is already made"
            )
            assert approved == [], f"{order_id} shipped and refunded before shipping"
            assert [(r["flow"], r["actor"]) for r in requested] == [
                ("before_shipping", "system"),
                ("with_return", "rule"),
            ], "the request became a return and the customer was told"
            assert (found["flow"], found["status"]) == ("with_return", "requested")
            assert parcels[order_id] != "cancelled"
            outcomes.append("shipped")
        else:
            assert len(_payloads(tail, order_id, "ShipmentStopped")) == 1
            assert [(a["flow"], a["amount"]["amount"]) for a in approved] == [
                ("before_shipping", PRICE)
            ], f"{order_id} stopped: refunded once, in full"
            assert shipped == [] and parcels.get(order_id, "cancelled") == "cancelled", (
                "a cancelled shipment never leaves later"
            )
            assert (found["flow"], found["status"]) == ("before_shipping", "approved")
            outcomes.append("stopped")
    print("race outcomes:", {o: outcomes.count(o) for o in set(outcomes)})

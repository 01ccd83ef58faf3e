"""A refund before shipping asks logistics to stop the shipment; the answer is a fact:
stopped (stock released) or already dispatched (with its tracking number), never both."""

from __future__ import annotations

from shared.contracts.envelope import Money
from shared.contracts.events.common import LineQuantity
from shared.contracts.events.returns import RefundFlow, RefundRequested
from tests.integration.logistics.support import (
    Logistics,
    of,
    placed,
)
from tests.support.events import new_id, paid, payload
from tests.support.kafka import TopicTail


def before_shipping(request_id: str, sku: str) -> RefundRequested:
    return RefundRequested(
        refund_request_id=request_id,
        flow=RefundFlow.BEFORE_SHIPPING,
        reason="customer_cancelled",
        lines=(LineQuantity(line_id="l1", sku=sku, quantity=2),),
        amount=Money(amount=19_800, currency="CNY"),
        return_shipping_paid_by=None,
        actor="system",
    )


async def paid_for_two(lg: Logistics, sku: str, order_id: str) -> None:
    """Five units of the SKU on the shelf; the order placed for two of them and paid."""
    await lg.put_stock(sku, on_hand=5)
    await lg.reserve(order_id, sku, 2)
    await lg.send(paid(19_800), order_id)


async def test_a_pending_shipment_is_stopped_its_stock_released_and_the_stop_told_once(
    lg: Logistics, tail: TopicTail
) -> None:
    sku, order_id, request_id = new_id("SKU"), new_id("ord"), new_id("rr")
    async with lg.running(ship_delay_seconds=60):
        await paid_for_two(lg, sku, order_id)
        await tail.wait_for(of(order_id, "ShippingPromiseSet"))  # the shipment is open
        request = await lg.send(before_shipping(request_id, sku), order_id)
        await lg.resend(request)  # delivered twice
        [answer] = await tail.wait_for(of(order_id, "ShipmentStopped"))
        await lg.send(before_shipping(request_id, sku), order_id)  # asked again
        await tail.wait_for(of(order_id, "ShipmentStopped"), count=2)
        level = await lg.stock(sku)
    steps = lg.told(order_id)
    assert steps == [
        "StockReserved",
        "ShippingPromiseSet",
        "ShipmentCancelled",
        "StockReleased",
        "ShipmentStopped",
        "ShipmentStopped",
    ], "released once; the same answer to the same question"
    body = payload(answer)
    assert (body["refund_request_id"], body["stock_released"]) == (request_id, True)
    assert body["shipment_id"] is not None
    assert (level["on_hand"], level["reserved"]) == (5, 0)


async def test_a_parcel_already_on_its_way_is_not_stopped_and_the_answer_names_it(
    lg: Logistics, tail: TopicTail
) -> None:
    sku, order_id, request_id = new_id("SKU"), new_id("ord"), new_id("rr")
    async with lg.running():
        await paid_for_two(lg, sku, order_id)
        [shipped] = await tail.wait_for(of(order_id, "ShipmentShipped"))
        await lg.send(before_shipping(request_id, sku), order_id)
        [answer] = await tail.wait_for(of(order_id, "ShipmentAlreadyDispatched"))
        level = await lg.stock(sku)
    steps = lg.told(order_id)
    assert steps == [
        "StockReserved",
        "ShippingPromiseSet",
        "ShipmentShipped",
        "ShipmentAlreadyDispatched",
    ]
    body, parcel = payload(answer), payload(shipped)
    assert body["refund_request_id"] == request_id
    assert (body["shipment_id"], body["tracking_number"]) == (
        parcel["shipment_id"],
        parcel["tracking_number"],
    )
    assert (level["on_hand"], level["reserved"]) == (3, 0), "the goods left; nothing comes back"


async def test_a_request_before_logistics_saw_the_order_stops_it_for_good(
    lg: Logistics, tail: TopicTail
) -> None:
    sku, order_id, request_id = new_id("SKU"), new_id("ord"), new_id("rr")
    async with lg.running():
        await lg.put_stock(sku, on_hand=5)
        # the answer waits for the order
        await lg.before_its_order(before_shipping(request_id, sku), order_id, placed([(sku, 2)]))
        [answer] = await tail.wait_for(of(order_id, "ShipmentStopped"))
        await lg.send(paid(19_800), order_id)
        level = await lg.settled_stock(sku)
    assert lg.told(order_id) == ["ShipmentStopped"]
    assert payload(answer)["stock_released"] is False
    assert (level["on_hand"], level["reserved"]) == (5, 1), "the late order is never reserved"

"""Shipping: a shipment on payment (at placement for cash on delivery), carrier checkpoints
duplicated and out of order, delivered never regressing, refunds before shipping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.contracts.envelope import Money
from shared.contracts.events.common import LineQuantity, PaymentMethod
from shared.contracts.events.order import OrderCancelled
from shared.contracts.events.returns import RefundApproved, RefundFlow, ReturnReceived
from tests.integration.logistics.support import (
    Logistics,
    of,
    placed,
)
from tests.support.db import until_handled
from tests.support.events import new_id, paid, payload
from tests.support.http import OPS, client
from tests.support.kafka import TopicTail


def approved_before_shipping(sku: str) -> RefundApproved:
    """Returns' approval of a full refund of the order's two units before they ship."""
    return RefundApproved(
        refund_request_id=new_id("rr"),
        flow=RefundFlow.BEFORE_SHIPPING,
        lines=(LineQuantity(line_id="l1", sku=sku, quantity=2),),
        amount=Money(amount=19_800, currency="CNY"),
        actor="system",
    )


async def test_a_paid_order_ships_once_with_courier_tracking_items_and_address(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    async with lg.running(courier_by_region={"Zhejiang": "sf"}):
        sku = await lg.stocked(on_hand=5)
        reserved = await lg.reserve(order_id, sku, 2)
        payment = await lg.send(paid(19_800), order_id)
        await lg.resend(payment)  # delivered twice
        await lg.send(paid(19_800), order_id)  # and told again by a new event
        [shipped] = await tail.wait_for(of(order_id, "ShipmentShipped"))
        await lg.send(OrderCancelled(reason="customer_request", was_paid=True), order_id)
        refund = approved_before_shipping(sku)
        await lg.send(refund, order_id)
        level = await lg.settled_stock(sku)
    body = payload(shipped)
    assert body["courier"] == "sf" and body["tracking_number"].startswith("SF")
    assert body["lines"][0]["variant"] == "White / M" and body["lines"][0]["quantity"] == 2
    assert body["address"]["city"] == "Hangzhou" and body["cash_on_delivery"] is None
    assert payload(reserved)["promised_ship_date"] <= body["expected_delivery_date"]
    assert lg.told(order_id) == [
        "StockReserved",
        "ShippingPromiseSet",
        "ShipmentShipped",
    ], "one shipment; a shipped parcel is neither cancelled nor its stock released"
    assert (level["on_hand"], level["reserved"]) == (3, 1), "shipping consumed the two units"


async def test_cash_on_delivery_ships_at_placement_and_collects_on_delivery(
    lg: Logistics, tail: TopicTail
) -> None:
    """The sandbox courier walks the parcel to the door on its own (auto-advance)."""
    order_id = new_id("ord")
    async with lg.running(sandbox_auto_advance_seconds=0.3) as runtime:
        sku = await lg.stocked(on_hand=5)
        order = placed([(sku, 1)], method=PaymentMethod.CASH_ON_DELIVERY)
        await lg.send(order, order_id)
        [shipped] = await tail.wait_for(of(order_id, "ShipmentShipped"))
        [delivered] = await tail.wait_for(of(order_id, "ShipmentDelivered"), timeout=30)
        async with client(runtime) as http:
            view = (await http.get(f"/v1/orders/{order_id}/shipment", headers=OPS)).json()
    assert payload(shipped)["cash_on_delivery"] == {"amount": 9_900, "currency": "CNY"}
    assert payload(delivered)["cash_collected"] == {"amount": 9_900, "currency": "CNY"}
    assert payload(delivered)["tracking_number"] == payload(shipped)["tracking_number"]
    steps = lg.told(order_id)
    assert steps == [
        "StockReserved",
        "ShippingPromiseSet",
        "ShipmentShipped",
        "CheckpointReached",
        "CheckpointReached",
        "CheckpointReached",
        "ShipmentWentOutForDelivery",
        "ShipmentDelivered",
    ]
    assert view["status"] == "delivered"
    assert [cp["city"] for cp in view["checkpoints"]] == [
        "Shenzhen",
        "Hangzhou",
        "Hangzhou",
        "Hangzhou",
        "Hangzhou",
    ]
    assert [cp["status"] for cp in view["checkpoints"]] == [
        "in_transit",
        "in_transit",
        "arrived_in_city",  # as the real couriers' adapters say it: notify tells this one
        "out_for_delivery",
        "delivered",
    ]


async def test_checkpoints_duplicated_and_out_of_order_keep_a_timeline_that_never_regresses(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    async with lg.running() as runtime:
        sku = await lg.stocked(on_hand=5)
        await lg.reserve(order_id, sku, 1)
        await lg.send(paid(9_900), order_id)
        [shipped] = await tail.wait_for(of(order_id, "ShipmentShipped"))
        courier, tracking = payload(shipped)["courier"], payload(shipped)["tracking_number"]
        t0 = datetime.now(UTC)
        post = lg.post_checkpoint
        first = await post(courier, tracking, "cp-1", t0, "in_transit", "Shenzhen")
        again = await post(courier, tracking, "cp-1", t0, "in_transit", "Shenzhen")
        done = await post(courier, tracking, "cp-4", t0 + timedelta(hours=30), "delivered")
        late = await post(courier, tracking, "cp-2", t0 + timedelta(hours=5), "in_transit")
        ofd = await post(courier, tracking, "cp-3", t0 + timedelta(hours=28), "out_for_delivery")
        twice = await post(courier, tracking, "cp-5", t0 + timedelta(hours=31), "delivered")
        forged = await post(courier, tracking, "cp-6", t0, "delivered", secret="dev-x")
        stranger = await post(courier, "NOPE123", "cp-7", t0, "in_transit")
        await tail.wait_for(of(order_id, "CheckpointReached"), count=3)
        async with client(runtime) as http:
            view = (await http.get(f"/v1/orders/{order_id}/shipment", headers=OPS)).json()
            anonymous = await http.get(f"/v1/orders/{order_id}/shipment")
            advance = await http.post(f"/sandbox/carriers/{courier}/parcels/{tracking}/advance")
    assert [r.status_code for r in (first, done, late, ofd, twice)] == [200] * 5
    assert again.json()["duplicate"] is True and first.json()["duplicate"] is False
    assert (forged.status_code, stranger.status_code, anonymous.status_code) == (401, 404, 401)
    events = [(r.type, payload(r).get("status")) for r in tail.records if of(order_id)(r)][3:]
    assert events == [
        ("CheckpointReached", "in_transit"),
        ("ShipmentDelivered", None),
        ("CheckpointReached", "in_transit"),
        ("CheckpointReached", "out_for_delivery"),
    ], "late steps join the timeline; no second delivery; no 'out for delivery' after it"
    assert view["status"] == "delivered"
    assert [cp["checkpoint_id"] for cp in view["checkpoints"]] == [
        "cp-1",
        "cp-2",
        "cp-3",
        "cp-4",
        "cp-5",
    ], "the timeline is ordered by the time of each checkpoint"
    assert advance.status_code == 409, "the sandbox courier has nothing after delivery"


async def test_a_refund_before_shipping_stops_the_pending_shipment_and_releases_the_stock(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    async with lg.running(ship_delay_seconds=60) as runtime:
        sku = await lg.stocked(on_hand=5)
        await lg.reserve(order_id, sku, 2)
        await lg.send(paid(9_900), order_id)
        await tail.wait_for(of(order_id, "ShippingPromiseSet"))  # the shipment is open
        refund = approved_before_shipping(sku)
        await until_handled(runtime, await lg.send(refund, order_id))  # then the order
        await lg.send(OrderCancelled(reason="refunded_before_shipping", was_paid=True), order_id)
        await tail.wait_for(of(order_id, "StockReleased"))
        level = await lg.settled_stock(sku)
        async with runtime.db.acquire() as conn:
            timers = await conn.fetch(
                "SELECT kind, state FROM timers WHERE key LIKE $1", f"{order_id}%"
            )
    steps = [(r.type, payload(r).get("reason")) for r in tail.records if of(order_id)(r)]
    assert steps == [
        ("StockReserved", None),
        ("ShippingPromiseSet", None),
        ("ShipmentCancelled", "refunded_before_shipping"),
        ("StockReleased", "refunded_before_shipping"),
    ]
    assert (level["on_hand"], level["reserved"]) == (5, 1)
    assert {t["state"] for t in timers} == {"cancelled"}, "no dispatch, no delay warning"


async def test_returned_goods_go_back_on_the_shelf_once(lg: Logistics, tail: TopicTail) -> None:
    order_id = new_id("ord")
    async with lg.running() as runtime:
        sku = await lg.stocked(on_hand=4, threshold=3)
        await lg.reserve(order_id, sku, 2)
        await lg.send(paid(9_900), order_id)
        await tail.wait_for(of(order_id, "ShipmentShipped"))
        shelf_after_shipping = await lg.stock(sku)
        returned = ReturnReceived(
            refund_request_id=new_id("rr"),
            lines=(LineQuantity(line_id="l1", sku=sku, quantity=2),),
            received_at=datetime.now(UTC),
            actor="operations",
        )
        once = await lg.send(returned, order_id)
        twice = await lg.send(returned, order_id)  # told twice
        await until_handled(runtime, once, twice)  # before the next order
        again = new_id("ord")
        await lg.reserve(again, sku, 2)
        warnings = await tail.wait_for(
            lambda r: r.topic == "stock.v1" and r.key == sku.encode(), count=2
        )
        level = await lg.stock(sku)
    assert shelf_after_shipping["on_hand"] == 2
    assert (level["on_hand"], level["reserved"]) == (4, 2), "the return was restocked once"
    assert [payload(w)["available"] for w in warnings] == [2, 2], (
        "under 3 after the first order; cleared by the return; under again after the second"
    )

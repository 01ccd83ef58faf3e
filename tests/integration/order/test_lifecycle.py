"""The order follows what payment, logistics and returns tell it: once, forward, in time order."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from shared.contracts.envelope import Money
from shared.contracts.events import logistics as lg
from shared.contracts.events import payment as pm
from shared.contracts.events import returns as rt
from shared.runtime import Runtime
from tests.integration.order.support import (
    CNY,
    delivered,
    kinds,
    place,
    refund,
    refund_paid,
    shipped,
    succeeded,
    until,
)
from tests.support.events import now, published, resend, seen, send_all
from tests.support.http import SHOP, client
from tests.support.kafka import TopicTail


async def test_a_paid_order_ships_and_completes_with_a_growing_timeline(
    service: Runtime, tail: TopicTail
) -> None:
    order_id = (await place(service))["order_id"]
    await send_all(
        service,
        order_id,
        pm.PaymentRequested(
            attempt_id="a1",
            method="wallet",
            amount=Money(amount=12_800, currency=CNY),
            checkout_url="https://pay.example/checkout/a1",
        ),
    )
    order = await until(service, order_id, lambda o: o["payment"]["checkout_url"])
    assert order["payment"]["checkout_url"] == "https://pay.example/checkout/a1"

    [payment] = await send_all(service, order_id, succeeded("a1"))
    await resend(service, payment)  # the same event delivered twice
    await send_all(service, order_id, succeeded("a1"))  # the same payment told twice
    [paid] = await published(tail, order_id, "OrderPaid")
    assert paid.json()["payload"]["amount"] == {"amount": 12_800, "currency": CNY}
    assert paid.json()["causation_id"] == str(payment.event_id)

    await send_all(
        service, order_id, lg.StockReserved(lines=(), promised_ship_date=date(2030, 1, 2))
    )
    shipment = f"shp_{uuid.uuid4().hex[:8]}"
    await send_all(service, order_id, shipped(shipment, ago=timedelta(hours=2)))
    base = now() - timedelta(hours=1)
    for minutes, city in ((30, "Hangzhou"), (10, "Suzhou")):  # told out of time order
        await send_all(
            service,
            order_id,
            lg.CheckpointReached(
                shipment_id=shipment,
                courier="SF Express",
                tracking_number="SF1",
                checkpoint_at=base + timedelta(minutes=minutes),
                city=city,
                status="in_transit",
                description=f"Arrived in {city}",
            ),
        )
    await send_all(
        service,
        order_id,
        lg.ShipmentWentOutForDelivery(
            shipment_id=shipment,
            courier="SF Express",
            tracking_number="SF1",
            checkpoint_at=base + timedelta(minutes=40),
            city="Shanghai",
        ),
    )
    order = await until(service, order_id, lambda o: "out_for_delivery" in kinds(o))
    assert order["status"] == "shipped"
    assert order["totals"]["paid"]["amount"] == 12_800
    assert order["promised_ship_date"] == "2030-01-02"
    assert order["shipment"]["courier"] == "SF Express"
    cities = [c["city"] for c in order["shipment"]["checkpoints"] if c["kind"] == "checkpoint"]
    assert cities == ["Suzhou", "Hangzhou"]
    assert kinds(order).count("paid") == 1
    times = [entry["at"] for entry in order["timeline"]]
    assert times == sorted(times)

    await send_all(service, order_id, delivered(shipment))
    order = await until(service, order_id, lambda o: o["status"] == "delivered")
    async with client(service) as http:
        confirmed = await http.post(f"/v1/orders/{order_id}/confirm-receipt", headers=SHOP)
        twice = await http.post(f"/v1/orders/{order_id}/confirm-receipt", headers=SHOP)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "completed"
    assert twice.status_code == 200 and twice.json()["status"] == "completed", "a second click"
    [completed] = await published(tail, order_id, "OrderCompleted")
    assert completed.json()["payload"]["confirmed_by"] == "customer"
    assert kinds(confirmed.json())[-1] == "completed"
    assert len(seen(tail, order_id, "OrderPaid")) == 1
    async with service.db.acquire() as conn:
        timers = dict(await conn.fetch("SELECT kind, state FROM timers WHERE key = $1", order_id))
    assert timers == {"payment_window": "cancelled", "auto_confirm": "cancelled"}


async def test_cash_on_delivery_ships_unpaid_and_counts_as_paid_on_delivery_in_any_order(
    service: Runtime, tail: TopicTail
) -> None:
    order_id = (await place(service, payment_method="cash_on_delivery"))["order_id"]
    shipment = f"shp_{uuid.uuid4().hex[:8]}"
    first_shipped = shipped(shipment)
    # the collected cash is told before the delivery itself (another topic), then a late repeat
    await send_all(
        service,
        order_id,
        first_shipped,
        succeeded("cod-1", method="cash_on_delivery"),
        delivered(shipment, cash=12_800),
        first_shipped,
    )
    order = await until(
        service, order_id, lambda o: o["status"] == "delivered" and o["payment"]["status"] == "paid"
    )
    await published(tail, order_id, "OrderPaid")
    order = await until(service, order_id, lambda o: kinds(o).count("shipped") == 1)
    assert order["status"] == "delivered"
    assert order["totals"]["paid"]["amount"] == 12_800
    assert order["payment"]["amount_due"]["amount"] == 0
    async with service.db.acquire() as conn:
        auto = await conn.fetchval(
            "SELECT state FROM timers WHERE kind = 'auto_confirm' AND key = $1", order_id
        )
        window = await conn.fetchval(
            "SELECT count(*) FROM timers WHERE kind = 'payment_window' AND key = $1", order_id
        )
    assert auto == "pending" and window == 0


async def test_cancelling_a_paid_order_requests_a_refund_and_ends_refunded(
    service: Runtime, tail: TopicTail
) -> None:
    order_id = (await place(service))["order_id"]
    await send_all(service, order_id, succeeded("a1"))
    await until(service, order_id, lambda o: o["status"] == "paid")
    async with client(service) as http:
        cancel = await http.post(
            f"/v1/orders/{order_id}/cancel", json={"reason": "changed my mind"}, headers=SHOP
        )
        again = await http.post(f"/v1/orders/{order_id}/cancel", headers=SHOP)
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancellation_requested"
    assert again.status_code == 409
    [requested] = await published(tail, order_id, "OrderCancellationRequested")
    assert requested.json()["payload"] == {
        "reason": "changed my mind",
        "paid": {"amount": 12_800, "currency": CNY},
    }
    request = f"rr_{uuid.uuid4().hex[:8]}"
    # the refund payment is read before the approval that caused it (two topics)
    await send_all(
        service,
        order_id,
        refund(rt.RefundRequested, request),
        refund_paid(request),
        refund(rt.RefundApproved, request),
    )
    order = await until(service, order_id, lambda o: "refund_approved" in kinds(o))
    assert order["status"] == "refunded"
    assert order["totals"]["refunded"]["amount"] == 12_800
    assert [(r["refund_id"], r["status"]) for r in order["refunds"]] == [(request, "paid")]
    assert not seen(tail, order_id, "OrderCancelled")


async def test_stock_shortage_cancels_paid_and_unpaid_orders(
    service: Runtime, tail: TopicTail
) -> None:
    unpaid = (await place(service))["order_id"]
    paid = (await place(service))["order_id"]
    await send_all(service, paid, succeeded("a1"))
    await until(service, paid, lambda o: o["status"] == "paid")
    lines = (lg.ShortLine(sku="TEE-RED-M", requested=2, available=0),)
    await send_all(service, unpaid, lg.StockRanShort(lines=lines))
    v1 = lg.StockShortage(lines=lines)  # published before the rename, still on the topic
    await send_all(service, paid, v1, v1)
    [unpaid_cancelled] = await published(tail, unpaid, "OrderCancelled")
    [paid_cancelled] = await published(tail, paid, "OrderCancelled")
    assert unpaid_cancelled.json()["payload"] == {"reason": "stock_shortage", "was_paid": False}
    assert paid_cancelled.json()["payload"] == {"reason": "stock_shortage", "was_paid": True}
    order = await until(service, paid, lambda o: o["status"] == "cancelled")
    assert kinds(order).count("cancelled") == 1
    assert "缺货" in order["timeline"][-1]["text"]  # the order speaks zh-CN


async def test_a_late_payment_does_not_reopen_a_cancelled_order(
    service: Runtime, tail: TopicTail
) -> None:
    order_id = (await place(service))["order_id"]
    async with client(service) as http:
        assert (await http.post(f"/v1/orders/{order_id}/cancel", headers=SHOP)).status_code == 200
    await send_all(service, order_id, succeeded("late"), refund_paid(None, reason="late_payment"))
    order = await until(service, order_id, lambda o: "refund_paid" in kinds(o))
    assert order["status"] == "cancelled"
    assert order["totals"]["paid"]["amount"] == 12_800
    assert order["totals"]["refunded"]["amount"] == 12_800
    assert kinds(order) == ["placed", "cancelled", "late_payment", "refund_paid"]
    assert not seen(tail, order_id, "OrderPaid")


async def test_failed_payments_can_be_retried_until_one_cannot(
    service: Runtime, tail: TopicTail
) -> None:
    order_id = (await place(service))["order_id"]

    def failed(attempt: str, retry: bool) -> pm.PaymentFailed:
        return pm.PaymentFailed(
            attempt_id=attempt,
            method="card",
            reason="declined",
            message="the bank declined the card",
            retry_allowed=retry,
        )

    await send_all(service, order_id, failed("a1", True))
    order = await until(service, order_id, lambda o: o["payment"]["status"] == "failed")
    assert order["status"] == "placed"
    await send_all(service, order_id, failed("a2", False))
    [cancelled] = await published(tail, order_id, "OrderCancelled")
    assert cancelled.json()["payload"] == {"reason": "payment_failed", "was_paid": False}
    order = await until(service, order_id, lambda o: o["status"] == "cancelled")
    assert kinds(order) == ["placed", "payment_failed", "payment_failed", "cancelled"]


async def test_a_delivered_order_with_an_open_refund_cannot_be_confirmed_until_it_closes(
    service: Runtime, tail: TopicTail
) -> None:
    order_id = (await place(service))["order_id"]
    shipment = f"shp_{uuid.uuid4().hex[:8]}"
    request = f"rr_{uuid.uuid4().hex[:8]}"
    await send_all(service, order_id, succeeded("a1"), shipped(shipment), delivered(shipment))
    await send_all(service, order_id, refund(rt.RefundRequested, request, amount=4_900))
    await until(service, order_id, lambda o: "refund_requested" in kinds(o))
    async with client(service) as http:
        refused = await http.post(f"/v1/orders/{order_id}/confirm-receipt", headers=SHOP)
    assert refused.status_code == 409 and refused.json()["error"] == "refund_open"
    await send_all(
        service,
        order_id,
        refund(rt.RefundApproved, request, amount=4_900),
        refund_paid(request, amount=4_900),
        lg.ShipmentDelayed(
            reason="no_checkpoint",
            shipment_id=shipment,
            previous_date=date(2030, 1, 1),
            new_expected_date=date(2030, 1, 3),
        ),
    )
    order = await until(service, order_id, lambda o: o["status"] == "partially_refunded")
    assert "delayed" not in kinds(order)  # a delivered parcel is no longer late
    async with client(service) as http:
        confirmed = await http.post(f"/v1/orders/{order_id}/confirm-receipt", headers=SHOP)
        shipped_cancel = await http.post(f"/v1/orders/{order_id}/cancel", headers=SHOP)
    assert confirmed.status_code == 200
    assert shipped_cancel.status_code == 409
    await published(tail, order_id, "OrderCompleted")

"""Cash on delivery when the courier chosen at checkout was substituted: the courier
collects the total without the surcharge, which settles the order exactly (no mismatch
for operations)."""

from __future__ import annotations

from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.logistics import CourierSubstituted
from tests.integration.payment.support import Payment, cash_delivered
from tests.support.db import until_handled


async def test_the_total_without_the_surcharge_settles_the_order_exactly(pay: Payment) -> None:
    order_id, _ = await pay.checkout(PaymentMethod.CASH_ON_DELIVERY, amount=6_500)
    substituted = CourierSubstituted(
        shipment_id="shp_sub",
        requested="sf",
        courier="zto",
        reason="not_serving_region",
        courier_fee=Money(amount=1_500, currency="CNY"),
        cash_on_delivery=Money(amount=5_000, currency="CNY"),
    )
    await until_handled(pay.runtime, await pay.send(substituted, order_id))
    report = await pay.send(cash_delivered("shp_sub", "ZT10", 5_000), order_id)

    [paid] = await pay.published(order_id, "PaymentSucceeded")
    assert paid["amount"] == {"amount": 5_000, "currency": "CNY"}
    body = await pay.view_when(order_id, "paid")
    await until_handled(pay.runtime, report)
    assert [(e["purpose"], e["amount"]) for e in body["ledger"]] == [("payment", 5_000)]
    assert await pay.outbox(order_id) == ["PaymentRequested", "PaymentSucceeded"]

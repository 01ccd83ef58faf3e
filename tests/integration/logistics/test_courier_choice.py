"""The courier a customer chose at checkout, on the real broker and database: honoured
when logistics has it, otherwise substituted and told once (a cash-on-delivery parcel
then collects the total without the surcharge)."""

from __future__ import annotations

from typing import Any

from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.order import OrderPlaced
from tests.integration.logistics.support import Logistics, of, placed
from tests.support.db import until_handled
from tests.support.events import new_id, paid, payload, seen
from tests.support.kafka import TopicTail

FEE = Money(amount=1_500, currency="CNY")


def choosing(courier: str, sku: str, **options: Any) -> OrderPlaced:
    """An order of one unit of `sku` whose customer chose `courier` (paying FEE for it)."""
    order = placed([(sku, 1)], **options)
    total = Money(amount=order.total.amount + FEE.amount, currency="CNY")
    return order.model_copy(
        update={"courier": courier, "courier_fee": FEE, "shipping_fee": FEE, "total": total}
    )


async def test_a_courier_logistics_has_is_honoured(lg: Logistics, tail: TopicTail) -> None:
    order_id = new_id("ord")
    async with lg.running(courier_by_region={"Zhejiang": "zto"}):
        sku = await lg.stocked(on_hand=3)
        await lg.send(choosing("sf", sku), order_id)
        await lg.send(paid(11_400), order_id)
        [shipped] = await tail.wait_for(of(order_id, "ShipmentShipped"))
    assert payload(shipped)["courier"] == "sf", "the choice over the region's rule"
    assert "CourierSubstituted" not in lg.told(order_id)


async def test_a_courier_logistics_lacks_is_substituted_and_told_once(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    async with lg.running(courier_by_region={"Zhejiang": "zto"}) as runtime:
        sku = await lg.stocked(on_hand=3)
        await lg.send(choosing("jd", sku), order_id)
        payment = await lg.send(paid(11_400), order_id)
        await lg.resend(payment)  # delivered twice
        [shipped] = await tail.wait_for(of(order_id, "ShipmentShipped"))
        await until_handled(runtime, await lg.send(paid(11_400), order_id))  # and told again
        await tail.poll()
    [told] = seen(tail, order_id, "CourierSubstituted")
    body = payload(told)
    assert (body["requested"], body["courier"], body["reason"]) == ("jd", "zto", "not_available")
    assert body["courier_fee"] == {"amount": 1_500, "currency": "CNY"}
    assert body["cash_on_delivery"] is None, "paid online: the fee is refunded, not deducted"
    assert payload(shipped)["courier"] == "zto"
    assert body["shipment_id"] == payload(shipped)["shipment_id"]


async def test_cash_on_delivery_outside_the_couriers_regions_collects_without_the_fee(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    settings: dict[str, Any] = {"courier_excluded_regions": {"sf": ["xinjiang"]}}
    async with lg.running(couriers=["sf", "yto"], **settings):
        sku = await lg.stocked(on_hand=3)
        cod = choosing("sf", sku, method=PaymentMethod.CASH_ON_DELIVERY, region="Xinjiang")
        await lg.send(cod, order_id)
        [told, shipped] = await tail.wait_for(
            of(order_id, "CourierSubstituted", "ShipmentShipped"), count=2
        )
    body = payload(told)
    assert (body["requested"], body["courier"]) == ("sf", "yto")
    assert body["reason"] == "not_serving_region"
    assert body["cash_on_delivery"] == {"amount": 9_900, "currency": "CNY"}
    assert payload(shipped)["courier"] == "yto"
    assert payload(shipped)["cash_on_delivery"] == {"amount": 9_900, "currency": "CNY"}

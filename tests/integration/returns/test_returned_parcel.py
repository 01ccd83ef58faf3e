"""A paid parcel refused at the door and back with the shop, on the real broker and
database: its goods refunded once, approved at once, postage kept, however often logistics
says it is back; a cash-on-delivery parcel refused and back refunds nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.contracts.envelope import Money
from shared.contracts.events.common import LineQuantity, PaymentMethod
from shared.contracts.events.logistics import ShipmentReturnedToShop
from shared.contracts.events.order import OrderPlaced, OrderRefused
from shared.runtime import Runtime
from tests.integration.returns.support import CUP, TEA
from tests.support import events
from tests.support.db import rows, until_handled
from tests.support.events import new_order_id, resend, send
from tests.support.polling import eventually

POSTAGE = Money(amount=800, currency="CNY")
GOODS = 13_000


def placed(method: PaymentMethod = PaymentMethod.CARD) -> OrderPlaced:
    return events.placed(TEA, CUP, method=method).model_copy(
        update={"total": Money(amount=GOODS + 800, currency="CNY"), "shipping_fee": POSTAGE}
    )


def back() -> ShipmentReturnedToShop:
    return ShipmentReturnedToShop(
        shipment_id="shp_1",
        courier="sf",
        tracking_number="SF1",
        returned_at=datetime.now(UTC),
        restocked=(
            LineQuantity(line_id="l1", sku=TEA.sku, quantity=TEA.quantity),
            LineQuantity(line_id="l2", sku=CUP.sku, quantity=CUP.quantity),
        ),
    )


async def requests(runtime: Runtime, order_id: str) -> list[dict[str, Any]]:
    return await rows(
        runtime,
        "SELECT idempotency_key, flow, reason, status, amount, requested_by FROM refund_requests"
        " WHERE order_id = $1",
        order_id,
    )


async def test_a_paid_parcel_back_with_the_shop_refunds_its_goods_once(returns: Runtime) -> None:
    order_id = new_order_id()
    await send(returns, placed(), order_id)
    await send(returns, events.paid(GOODS + 800), order_id)
    told = await send(returns, back(), order_id)
    await resend(returns, told)  # redelivered
    await until_handled(returns, await send(returns, back(), order_id))  # and reported again

    async def approved() -> list[dict[str, Any]]:
        found = await requests(returns, order_id)
        return found if found and found[0]["status"] == "approved" else []

    assert await eventually(approved, what="the goods' refund approved") == [
        {
            "idempotency_key": "auto:returned_to_shop",
            "flow": "no_return",
            "reason": "refused_at_delivery",
            "status": "approved",
            "amount": GOODS,  # the postage is kept
            "requested_by": "system",
        }
    ]


async def test_a_cash_on_delivery_parcel_refused_and_back_refunds_nothing(
    returns: Runtime,
) -> None:
    order_id = new_order_id()
    await send(returns, placed(PaymentMethod.CASH_ON_DELIVERY), order_id)
    await send(returns, OrderRefused(reason="refused", was_paid=False), order_id)
    await until_handled(returns, await send(returns, back(), order_id))
    assert await requests(returns, order_id) == []

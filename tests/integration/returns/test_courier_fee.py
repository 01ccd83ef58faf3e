"""The surcharge of a courier chosen at checkout that did not carry the parcel, on the real
broker and database: refunded once, exactly the fee, approved at once, whether returns
saw the payment first or not; nothing refunded on cash on delivery (not collected)."""

from __future__ import annotations

from typing import Any

from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.logistics import CourierSubstituted
from shared.contracts.events.order import OrderPlaced
from shared.runtime import Runtime
from tests.integration.returns.support import CUP, TEA
from tests.support import events
from tests.support.db import rows, until_handled
from tests.support.events import new_order_id, resend, send
from tests.support.polling import eventually

FEE = Money(amount=1_500, currency="CNY")
PAID = 13_000 + 1_500


def choosing_sf(method: PaymentMethod = PaymentMethod.CARD) -> OrderPlaced:
    return events.placed(TEA, CUP, method=method).model_copy(
        update={
            "total": Money(amount=PAID, currency="CNY"),
            "shipping_fee": FEE,
            "courier": "sf",
            "courier_fee": FEE,
        }
    )


def substituted(cod: Money | None = None) -> CourierSubstituted:
    return CourierSubstituted(
        shipment_id="shp_1",
        requested="sf",
        courier="zto",
        reason="not_available",
        courier_fee=FEE,
        cash_on_delivery=cod,
    )


async def requests(runtime: Runtime, order_id: str) -> list[dict[str, Any]]:
    return await rows(
        runtime,
        "SELECT idempotency_key, flow, reason, status, amount, currency FROM refund_requests"
        " WHERE order_id = $1",
        order_id,
    )


async def refunded(runtime: Runtime, order_id: str) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]]:
        found = await requests(runtime, order_id)
        return found if found and found[0]["status"] == "approved" else []

    return await eventually(probe, what="the surcharge's refund approved")


EXPECTED = {
    "idempotency_key": "auto:courier_fee",
    "flow": "no_return",
    "reason": "courier_substituted",
    "status": "approved",
    "amount": 1_500,
    "currency": "CNY",
}


async def test_the_surcharge_is_refunded_once_exactly(returns: Runtime) -> None:
    order_id = new_order_id()
    await send(returns, choosing_sf(), order_id)
    await send(returns, events.paid(PAID), order_id)
    told = await send(returns, substituted(), order_id)
    await resend(returns, told)  # redelivered
    await until_handled(returns, await send(returns, substituted(), order_id))  # told again
    assert await refunded(returns, order_id) == [EXPECTED]


async def test_a_substitution_seen_before_the_payment_is_refunded_once_it_is(
    returns: Runtime,
) -> None:
    order_id = new_order_id()
    await send(returns, choosing_sf(), order_id)
    await until_handled(returns, await send(returns, substituted(), order_id))
    assert await requests(returns, order_id) == [], "nothing to refund before the payment"
    await send(returns, events.paid(PAID), order_id)
    assert await refunded(returns, order_id) == [EXPECTED]


async def test_cash_on_delivery_refunds_nothing(returns: Runtime) -> None:
    order_id = new_order_id()
    await send(returns, choosing_sf(PaymentMethod.CASH_ON_DELIVERY), order_id)
    due = Money(amount=13_000, currency="CNY")
    await until_handled(returns, await send(returns, substituted(cod=due), order_id))
    assert await requests(returns, order_id) == []

"""Events about an order payment has not seen placed yet are held, then handled once it is.

Kafka keeps order within a topic's partition, not across topics: a refund approval
(returns.v1) or a courier's cash (shipments.v1) can reach payment before the order's
OrderPlaced (orders.v1). They wait in `awaiting_order` (shared/held.py) and are handled,
oldest first, in the transaction that records the order.
"""

from __future__ import annotations

from shared.contracts.envelope import Envelope
from shared.contracts.events.common import PaymentMethod
from shared.runtime import Runtime
from tests.integration.payment.support import (
    Payment,
    approved,
    assert_balanced,
    cash_delivered,
    placed,
)
from tests.support.db import held
from tests.support.events import new_order_id
from tests.support.polling import eventually


async def until_held(runtime: Runtime, order_id: str, *envelopes: Envelope) -> None:
    types = [e.type for e in envelopes]

    async def probe() -> bool:
        return await held(runtime, order_id) == types

    await eventually(probe, what=f"{types} held for {order_id}")


async def test_an_approval_before_its_order_is_held_then_refused_once_the_order_is_placed(
    pay: Payment,
) -> None:
    order_id = new_order_id()
    request_id = f"rr_early_{order_id}"
    early = await pay.send(approved(request_id, 1_000), order_id)
    await until_held(pay.runtime, order_id, early)
    assert await pay.outbox(order_id) == []

    await pay.send(placed(PaymentMethod.CARD), order_id)

    [failed] = await pay.published(order_id, "RefundFailed")
    assert (failed["refund_request_id"], failed["reason"]) == (request_id, "nothing_captured")
    await pay.published(order_id, "PaymentRequested")
    assert await held(pay.runtime, order_id) == []


async def test_cash_collected_before_the_order_is_placed_pays_it_once_it_is(
    pay: Payment,
) -> None:
    order_id = new_order_id()
    delivered = cash_delivered("shp_early", "SF2", 5_000)
    early = await pay.send(delivered, order_id)
    await until_held(pay.runtime, order_id, early)
    assert await pay.outbox(order_id) == []

    await pay.send(placed(PaymentMethod.CASH_ON_DELIVERY, amount=5_000), order_id)

    [paid] = await pay.published(order_id, "PaymentSucceeded")
    assert (paid["method"], paid["provider"]) == ("cash_on_delivery", "courier")
    body = await pay.view_when(order_id, "paid")
    assert await pay.outbox(order_id) == ["PaymentRequested", "PaymentSucceeded"]
    assert (body["captured"], body["net"]) == (5_000, 5_000)
    assert_balanced(body)
    assert await held(pay.runtime, order_id) == []

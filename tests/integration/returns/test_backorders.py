"""The units a backorder dropped (the order ships what was there), on the real broker and
database: refunded once, their price less their share of the discount to the fen,
approved at once, whether returns saw the payment first or not; and a later cancellation
refunds only the rest, never more than was paid."""

from __future__ import annotations

from typing import Any

from shared.contracts.envelope import Money
from shared.contracts.events.common import OrderLine
from shared.contracts.events.logistics import BackorderDropped, BackorderLine
from shared.contracts.events.order import OrderCancelled, OrderPlaced
from shared.runtime import Runtime
from tests.integration.returns.support import cancellation
from tests.support import events
from tests.support.db import rows, until_handled
from tests.support.events import new_order_id, resend, send
from tests.support.polling import eventually

MUGS = OrderLine(
    line_id="l1", sku="SKU-MUG", name="Ceramic mug", variant="350 ml", quantity=3,
    unit_price=Money(amount=4_500, currency="CNY"), discount=Money(amount=1_000, currency="CNY"),
)  # fmt: skip
TEA = OrderLine(
    line_id="l2", sku="SKU-TEA", name="Oolong tea", quantity=1,
    unit_price=Money(amount=8_800, currency="CNY"),
)  # fmt: skip
PAID = 3 * 4_500 - 1_000 + 8_800
# two of the three mugs dropped: 90.00 less the last two units' 6.67 of the line's discount
DROPPED_VALUE = 2 * 4_500 - 667


def placed() -> OrderPlaced:
    return events.placed(MUGS, TEA).model_copy(update={"total": Money(amount=PAID, currency="CNY")})


def dropped(chosen_by: str = "customer") -> BackorderDropped:
    line = BackorderLine(
        line_id="l1", sku="SKU-MUG", name="Ceramic mug", variant="350 ml", quantity=2, held=1
    )
    return BackorderDropped(dropped=(line,), chosen_by=chosen_by)  # type: ignore[arg-type]


async def requests(runtime: Runtime, order_id: str) -> list[dict[str, Any]]:
    return await rows(
        runtime,
        "SELECT idempotency_key, flow, reason, status, amount FROM refund_requests"
        " WHERE order_id = $1 ORDER BY created_at",
        order_id,
    )


async def request_lines(runtime: Runtime, order_id: str) -> list[tuple[str, int]]:
    found = await rows(
        runtime,
        "SELECT line_id, quantity FROM refund_request_lines WHERE order_id = $1",
        order_id,
    )
    return [(row["line_id"], row["quantity"]) for row in found]


async def refunded(runtime: Runtime, order_id: str, count: int = 1) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]]:
        found = await requests(runtime, order_id)
        return found if len(found) >= count and found[0]["status"] == "approved" else []

    return await eventually(probe, what="the dropped units' refund approved")


EXPECTED = {
    "idempotency_key": "auto:backorder",
    "flow": "no_return",
    "reason": "stock_shortage",
    "status": "approved",
    "amount": DROPPED_VALUE,
}


async def test_the_dropped_units_are_refunded_once_to_the_fen(returns: Runtime) -> None:
    order_id = new_order_id()
    await send(returns, placed(), order_id)
    await send(returns, events.paid(PAID), order_id)
    told = await send(returns, dropped(), order_id)
    await resend(returns, told)  # redelivered
    await until_handled(returns, await send(returns, dropped("default"), order_id))  # again
    assert await refunded(returns, order_id) == [EXPECTED]
    assert await request_lines(returns, order_id) == [("l1", 2)]


async def test_a_drop_seen_before_the_payment_is_refunded_once_it_is(returns: Runtime) -> None:
    order_id = new_order_id()
    await send(returns, placed(), order_id)
    await until_handled(returns, await send(returns, dropped(), order_id))
    assert await requests(returns, order_id) == [], "nothing to refund before the payment"
    await send(returns, events.paid(PAID), order_id)
    assert await refunded(returns, order_id) == [EXPECTED]


async def test_a_cancellation_after_the_drop_refunds_only_the_rest(returns: Runtime) -> None:
    order_id = new_order_id()
    await send(returns, placed(), order_id)
    await send(returns, events.paid(PAID), order_id)
    await send(returns, dropped(), order_id)
    await refunded(returns, order_id)

    await send(returns, cancellation(PAID), order_id)
    cancelled = OrderCancelled(reason="customer_request", was_paid=True)
    await until_handled(returns, await send(returns, cancelled, order_id))
    drop, rest = await refunded(returns, order_id, count=2)
    assert drop == EXPECTED
    assert rest["amount"] == PAID - DROPPED_VALUE, "the rest of the payment, not all of it"

"""Events about an order returns has not seen placed are held (shared.held), never
recorded on a placeholder, and handled in the order they happened once OrderPlaced is."""

from __future__ import annotations

from datetime import date, timedelta

from shared.contracts.envelope import Money
from shared.contracts.events.order import OrderCancellationRequested
from shared.runtime import Runtime
from tests.integration.returns.support import (
    PAID,
    ask,
    order_view,
    placed,
    reserved,
    shipped,
    until_order,
)
from tests.support import events
from tests.support.db import held, until_handled
from tests.support.events import new_order_id, now, payloads, seen, send
from tests.support.kafka import TopicTail


async def test_facts_before_the_order_is_placed_wait_for_it_then_all_count(
    returns: Runtime,
) -> None:
    order_id = new_order_id()
    shipped_at = now() - timedelta(days=1)
    promised = date.today() - timedelta(days=2)
    early = [
        await send(returns, events.paid(PAID), order_id),
        await send(returns, reserved(promised), order_id),
        await send(returns, shipped(shipped_at), order_id),
    ]
    await until_handled(returns, *early)

    assert await order_view(returns, order_id) is None, "no placeholder for an unknown order"
    assert len(await held(returns, order_id)) == 3

    await send(returns, placed(), order_id)

    view = await until_order(returns, order_id, lambda o: bool(o.lines))
    assert view.paid == PAID and view.shipped_at == shipped_at
    assert view.promised_ship_date == promised
    assert len(await held(returns, order_id)) == 0
    response = await ask(returns, order_id, {"reason": "not_received"})
    assert response.status_code == 201, response.text
    assert response.json()["flow"] == "no_return"


async def test_a_paid_order_cancelled_before_it_is_known_is_refunded_line_by_line_once_placed(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = new_order_id()
    cancel = OrderCancellationRequested(
        reason="changed_mind", paid=Money(amount=PAID, currency="CNY")
    )
    early = [
        await send(returns, events.paid(PAID), order_id),
        await send(returns, cancel, order_id),
    ]
    await until_handled(returns, *early)
    assert not seen(tail, order_id, "RefundRequested"), "the order's lines are unknown"

    await send(returns, placed(), order_id)

    [requested] = await payloads(tail, order_id, "RefundRequested")
    assert (requested["actor"], requested["flow"], requested["amount"]["amount"]) == (
        "system",
        "before_shipping",
        PAID,
    )
    assert sorted(line["line_id"] for line in requested["lines"]) == ["l1", "l2"]
    assert len(await held(returns, order_id)) == 0

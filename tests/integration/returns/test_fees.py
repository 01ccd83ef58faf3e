"""Refunds of an order with a coupon and postage, on the real database and broker: each
part exact to the fen, postage only with the whole order for the shop's reason, and the
database refusing requests beyond what was paid."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from shared.contracts.envelope import Money
from shared.contracts.events.order import OrderPlaced
from shared.runtime import Runtime
from tests.integration.returns.support import (
    CUP,
    TEA,
    ask,
    delivered,
    operate,
    refund_paid,
    shipped,
    until_order,
    until_status,
)
from tests.support import events
from tests.support.events import new_order_id, now, send

# goods 2 x 5000 + 3000 = 13000; a 1000 discount shared 769 / 231; postage 800
PAID = 13_000 - 1_000 + 800


def discounted() -> OrderPlaced:
    lines = (
        TEA.model_copy(update={"discount": Money(amount=769, currency="CNY")}),
        CUP.model_copy(update={"discount": Money(amount=231, currency="CNY")}),
    )
    return events.placed(*lines).model_copy(
        update={
            "total": Money(amount=PAID, currency="CNY"),
            "shipping_fee": Money(amount=800, currency="CNY"),
            "discount": Money(amount=1_000, currency="CNY"),
            "coupon_code": "WELCOME10",
        }
    )


async def delivered_order(returns: Runtime) -> str:
    order_id = new_order_id()
    at = now() - timedelta(days=1)
    for event in (discounted(), events.paid(PAID), shipped(at - timedelta(days=1)), delivered(at)):
        await send(returns, event, order_id)
    await until_order(returns, order_id, lambda o: o.paid == PAID and o.delivered_at is not None)
    return order_id


async def test_a_partial_refund_then_the_rest_add_up_to_the_goods_paid_exactly(
    returns: Runtime,
) -> None:
    order_id = await delivered_order(returns)
    view = await until_order(returns, order_id, lambda o: o.shipping_fee == 800)
    assert view.lines["l1"].discount == 769

    first = await ask(
        returns, order_id, {"reason": "changed_mind", "lines": [{"line_id": "l1", "quantity": 1}]}
    )
    assert first.status_code == 201, first.text
    assert first.json()["amount"]["amount"] == 5_000 - 384  # one tea, half its share off
    assert first.json()["return_shipping_paid_by"] == "customer"
    request_id = first.json()["id"]
    assert (await operate(returns, request_id, "approve", {"note": "ok"})).status_code == 200
    await send(returns, refund_paid(request_id, 4_616, refund_id=f"rf_{order_id}_1"), order_id)
    await until_status(returns, request_id, order_id, "refunded")

    rest = await ask(returns, order_id, {"reason": "changed_mind"})
    assert rest.status_code == 201, rest.text
    assert rest.json()["amount"]["amount"] == (5_000 - 385) + (3_000 - 231)
    assert 4_616 + rest.json()["amount"]["amount"] == 13_000 - 1_000  # postage kept


async def test_the_whole_order_for_a_quality_problem_refunds_the_postage(
    returns: Runtime,
) -> None:
    order_id = await delivered_order(returns)
    response = await ask(returns, order_id, {"reason": "damaged"})
    assert response.status_code == 201, response.text
    assert response.json()["amount"]["amount"] == PAID
    assert response.json()["return_shipping_paid_by"] == "shop"


async def test_a_partial_refund_never_carries_the_postage(returns: Runtime) -> None:
    order_id = await delivered_order(returns)
    response = await ask(
        returns, order_id, {"reason": "damaged", "lines": [{"line_id": "l2", "quantity": 1}]}
    )
    assert response.json()["amount"]["amount"] == 3_000 - 231


async def test_the_database_refuses_requests_beyond_what_was_paid(returns: Runtime) -> None:
    order_id = await delivered_order(returns)
    ok = await ask(returns, order_id, {"reason": "damaged"})
    assert ok.status_code == 201
    async with returns.db.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError, match="exceed"):
            await conn.execute(
                """INSERT INTO refund_requests (id, order_id, flow, reason, status, amount,
                       currency, requested_by, created_at, updated_at)
                   VALUES ($1, $2, 'no_return', 'price_dropped', 'requested', 1, 'CNY',
                           'customer', now(), now())""",
                f"rr_{order_id}_x",
                order_id,
            )

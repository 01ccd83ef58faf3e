"""Price-difference refunds on the real broker and database: returns learns the catalogue's
prices from PriceChanged and reckons the difference itself, by rule within the protection
time after the payment, for operations otherwise; the same drop is refunded once, a further
drop only by what it adds."""

from __future__ import annotations

from datetime import timedelta

from shared.contracts.envelope import Envelope, Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.logistics import PriceChanged
from shared.contracts.events.order import OrderPaid
from shared.runtime import Runtime
from tests.integration.returns.exchange_support import (
    ask_exchange,
    captured,
    receive,
    reserved,
    shipped,
    until_exchange,
)
from tests.integration.returns.support import (
    CUP,
    TEA,
    ask,
    delivered,
    refund_paid,
    until_order,
    until_status,
)
from tests.support import events
from tests.support.db import outbox_types, rows
from tests.support.events import bootstrap_of, new_id, new_order_id, now, payloads, seen, send
from tests.support.kafka import TopicTail, publish
from tests.support.polling import eventually


async def priced(returns: Runtime, sku: str, amount: int) -> None:
    change = PriceChanged(sku=sku, price=Money(amount=amount, currency="CNY"), changed_at=now())
    await publish(bootstrap_of(returns), Envelope.wrap(change, producer="logistics", order_id=None))

    async def known() -> bool:
        async with returns.db.acquire() as conn:
            return bool(
                await conn.fetchval(
                    "SELECT true FROM price_history WHERE sku = $1 AND amount = $2", sku, amount
                )
            )

    await eventually(known, what=f"price of {sku} known to returns")


async def paid_order(returns: Runtime, sku: str, paid_days_ago: float) -> str:
    order_id = new_order_id()
    tea = TEA.model_copy(update={"sku": sku})
    paid = OrderPaid(
        amount=Money(amount=13_000, currency="CNY"),
        payment_method=PaymentMethod.CARD,
        paid_at=now() - timedelta(days=paid_days_ago),
    )
    await send(returns, events.placed(tea, CUP), order_id)
    await send(returns, paid, order_id)
    await until_order(returns, order_id, lambda o: o.paid == 13_000 and o.paid_at is not None)
    return order_id


async def test_a_price_drop_after_payment_is_refunded_by_rule(returns: Runtime) -> None:
    sku = new_id("TEA").upper()
    order_id = await paid_order(returns, sku, paid_days_ago=0.01)
    await priced(returns, sku, 4_200)
    response = await ask(returns, order_id, {"reason": "price_dropped"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["amount"]["amount"] == 2 * (5_000 - 4_200)
    assert body["flow"] == "no_return"
    await until_status(returns, body["id"], order_id, "approved")


async def test_a_price_drop_asked_too_late_waits_for_operations(returns: Runtime) -> None:
    sku = new_id("TEA").upper()
    order_id = await paid_order(returns, sku, paid_days_ago=30)
    await priced(returns, sku, 4_500)
    response = await ask(returns, order_id, {"reason": "price_dropped"})
    assert response.status_code == 201, response.text
    assert response.json()["amount"]["amount"] == 1_000
    assert response.json()["status"] == "requested"


async def test_no_lower_price_is_a_422_naming_the_reason(returns: Runtime) -> None:
    sku = new_id("TEA").upper()
    order_id = await paid_order(returns, sku, paid_days_ago=0.01)
    await priced(returns, sku, 5_000)
    response = await ask(returns, order_id, {"reason": "price_dropped"})
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "no_lower_price"
    assert "reason" in str(response.json())


async def refunded_drop(returns: Runtime, order_id: str, amount: int) -> str:
    """The customer asks for the price difference; it is approved by rule and paid."""
    response = await ask(returns, order_id, {"reason": "price_dropped"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["amount"]["amount"] == amount
    await until_status(returns, body["id"], order_id, "approved")
    await send(returns, refund_paid(body["id"], amount, refund_id="rf_" + body["id"]), order_id)
    await until_status(returns, body["id"], order_id, "refunded")
    return str(body["id"])


async def taken(returns: Runtime, request_id: str) -> dict[str, int]:
    found = await rows(
        returns,
        "SELECT line_id, price_difference FROM refund_request_lines WHERE request_id = $1",
        request_id,
    )
    return {r["line_id"]: r["price_difference"] for r in found if r["price_difference"]}


async def test_the_same_drop_asked_twice_is_refunded_once(
    returns: Runtime, tail: TopicTail
) -> None:
    sku = new_id("TEA").upper()
    order_id = await paid_order(returns, sku, paid_days_ago=0.01)
    await priced(returns, sku, 4_200)
    first = await refunded_drop(returns, order_id, 2 * 800)
    assert await taken(returns, first) == {"l1": 1_600}

    again = await ask(returns, order_id, {"reason": "price_dropped"})
    assert again.status_code == 422, again.text
    problem = again.json()
    assert (problem["error"], problem["field"]) == ("already_compensated", "reason")
    named = await ask(
        returns, order_id, {"reason": "price_dropped", "lines": [{"line_id": "l1", "quantity": 2}]}
    )
    assert named.status_code == 422 and named.json()["error"] == "already_compensated"

    [requested] = await payloads(tail, order_id, "RefundRequested")
    [approved] = await payloads(tail, order_id, "RefundApproved")
    assert requested["refund_request_id"] == approved["refund_request_id"] == first
    committed = await outbox_types(returns, order_id, "returns.v1")
    assert (committed.count("RefundRequested"), committed.count("RefundApproved")) == (1, 1)
    assert len(seen(tail, order_id, "RefundRequested", "RefundApproved")) == 2


async def test_a_further_drop_is_refunded_only_by_what_it_adds(
    returns: Runtime, tail: TopicTail
) -> None:
    sku = new_id("TEA").upper()
    order_id = await paid_order(returns, sku, paid_days_ago=0.01)
    await priced(returns, sku, 4_200)
    first = await refunded_drop(returns, order_id, 2 * 800)
    await priced(returns, sku, 4_000)

    further = await refunded_drop(returns, order_id, 2 * (5_000 - 4_000) - 1_600)
    assert await taken(returns, further) == {"l1": 400}
    requested = await payloads(tail, order_id, "RefundRequested", count=2)
    assert [(r["refund_request_id"], r["amount"]["amount"]) for r in requested] == [
        (first, 1_600),
        (further, 400),
    ]


async def test_an_amount_by_hand_stays_within_what_is_left_of_the_line(returns: Runtime) -> None:
    sku = new_id("TEA").upper()
    order_id = await paid_order(returns, sku, paid_days_ago=0.01)
    await priced(returns, sku, 4_200)
    await refunded_drop(returns, order_id, 1_600)
    tea = [{"line_id": "l1", "quantity": 2}]

    def by_hand(amount: int) -> dict[str, object]:
        return {
            "reason": "price_dropped",
            "lines": tea,
            "amount": {"amount": amount, "currency": "CNY"},
        }

    over = await ask(returns, order_id, by_hand(10_000 - 1_600 + 1))
    assert over.status_code == 422, over.text
    assert (over.json()["error"], over.json()["field"]) == ("over_refund", "amount")
    within = await ask(returns, order_id, by_hand(500))
    assert within.status_code == 201, within.text
    assert within.json()["status"] == "requested"  # an amount by hand waits for operations
    assert await taken(returns, within.json()["id"]) == {"l1": 500}


async def test_a_unit_returned_after_a_price_refund_comes_back_less_its_share(
    returns: Runtime,
) -> None:
    sku = new_id("TEA").upper()
    order_id = await paid_order(returns, sku, paid_days_ago=0.01)
    await send(returns, delivered(now()), order_id)
    await until_order(returns, order_id, lambda o: o.delivered_at is not None)
    await priced(returns, sku, 4_200)
    await refunded_drop(returns, order_id, 1_600)

    one_tea = {"reason": "changed_mind", "lines": [{"line_id": "l1", "quantity": 1}]}
    response = await ask(returns, order_id, one_tea)
    assert response.status_code == 201, response.text
    assert response.json()["amount"]["amount"] == 5_000 - 800
    found = await rows(
        returns,
        "SELECT price_difference_deducted FROM refund_request_lines WHERE request_id = $1",
        response.json()["id"],
    )
    assert [r["price_difference_deducted"] for r in found] == [800]


async def test_a_unit_exchanged_after_a_price_refund_is_worth_its_share_less(
    returns: Runtime, tail: TopicTail
) -> None:
    sku = new_id("TEA").upper()
    order_id = await paid_order(returns, sku, paid_days_ago=0.01)
    await send(returns, delivered(now()), order_id)
    await until_order(returns, order_id, lambda o: o.delivered_at is not None)
    await priced(returns, sku, 4_200)
    await refunded_drop(returns, order_id, 1_600)

    one_tea = {"line_id": "l1", "quantity": 1, "replacement_sku": f"{sku}-GREEN"}
    asked = await ask_exchange(returns, order_id, {**one_tea, "reason": "changed_mind"})
    assert asked.status_code == 201, asked.text
    exchange_id = asked.json()["id"]
    assert asked.json()["returned_value"]["amount"] == 5_000 - 800, "800 came back already"
    await send(returns, reserved(exchange_id, 5_000), order_id)
    [accepted] = await payloads(tail, order_id, "ExchangeAccepted")
    assert (accepted["settlement"], accepted["difference"]["amount"]) == ("charge", 800)

    await send(returns, captured(exchange_id, 800), order_id)
    assert (await receive(returns, exchange_id)).status_code == 200
    await send(returns, shipped(exchange_id, 5_000), order_id)
    await until_exchange(returns, exchange_id, order_id, "shipped")

    # the tea kept carries the rest of the difference: refunded at 5,000 less 800
    kept = {"reason": "changed_mind", "lines": [{"line_id": "l1", "quantity": 1}]}
    response = await ask(returns, order_id, kept)
    assert response.status_code == 201, response.text
    assert response.json()["amount"]["amount"] == 5_000 - 800

"""What returns does with its neighbours' events: automatic refunds of cancelled paid
orders, returns arriving through the carrier, refunds paid or failed; each event
delivered twice, or late, or before the facts it follows."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from shared.contracts.envelope import Money
from shared.contracts.events.order import OrderCancelled, OrderClosed, OrderRefused
from shared.contracts.events.payment import RefundFailed
from shared.runtime import Runtime
from tests.integration.returns.support import (
    PAID,
    ask,
    cancellation,
    delivered,
    fetch,
    operate,
    order_view,
    paid_order,
    placed,
    refund_paid,
    reserved,
    seed,
    shipped,
    stopped,
    trail,
    until_status,
)
from tests.support.db import until_handled, until_held
from tests.support.events import new_order_id, now, paid, payloads, resend, seen, send
from tests.support.http import client, customer
from tests.support.kafka import TopicTail

CUP_1 = {"line_id": "l2", "quantity": 1}


async def test_a_paid_order_cancelled_by_the_customer_is_refunded_once(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await paid_order(returns)
    cancel = cancellation()

    first = await send(returns, cancel, order_id)
    await resend(returns, first)
    second = await send(returns, cancel, order_id)
    cancelled = await send(
        returns, OrderCancelled(reason="customer_request", was_paid=True), order_id
    )
    await until_handled(returns, first, second, cancelled)

    [requested] = await payloads(tail, order_id, "RefundRequested")
    answer = await send(returns, stopped(requested["refund_request_id"]), order_id)
    await resend(returns, answer)
    await send(returns, stopped(requested["refund_request_id"]), order_id)
    [approved] = await payloads(tail, order_id, "RefundApproved")
    assert (requested["actor"], requested["reason"], requested["flow"]) == (
        "system",
        "customer_cancelled",
        "before_shipping",
    )
    assert (approved["actor"], approved["amount"]["amount"]) == ("system", PAID)
    async with client(returns) as http:
        listed = await http.get(
            f"/v1/orders/{order_id}/refund-requests", headers=customer(order_id)
        )
    [only] = listed.json()["refund_requests"]
    assert only["id"] == requested["refund_request_id"] and only["requested_by"] == "system"
    refused = await ask(returns, order_id, {"reason": "changed_mind"})
    assert refused.status_code == 409 and refused.json()["error"] == "order_cancelled"


async def test_a_stock_shortage_seen_before_the_payment_is_refunded_once_the_payment_is_seen(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = new_order_id()
    await send(returns, placed(), order_id)
    cancelled = await send(
        returns, OrderCancelled(reason="stock_shortage", was_paid=True), order_id
    )
    await until_handled(returns, cancelled)
    assert not seen(tail, order_id, "RefundRequested"), "the paid amount is not known yet"

    payment = await send(returns, paid(PAID), order_id)
    await resend(returns, payment)

    [requested] = await payloads(tail, order_id, "RefundRequested")
    await send(returns, stopped(requested["refund_request_id"]), order_id)
    [approved] = await payloads(tail, order_id, "RefundApproved")
    assert (approved["flow"], approved["actor"], approved["amount"]["amount"]) == (
        "before_shipping",
        "system",
        PAID,
    )
    await until_handled(returns, payment)
    async with client(returns) as http:
        listed = await http.get(
            f"/v1/orders/{order_id}/refund-requests", headers=customer(order_id)
        )
    assert len(listed.json()["refund_requests"]) == 1


async def test_an_unpaid_order_cancelled_or_closed_is_not_refunded(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = new_order_id()
    await send(returns, placed(), order_id)
    closed = await send(returns, OrderClosed(), order_id)
    cancelled = await send(
        returns, OrderCancelled(reason="payment_failed", was_paid=False), order_id
    )
    await until_handled(returns, closed, cancelled)

    response = await ask(returns, order_id, {"reason": "changed_mind"})

    assert response.status_code == 409
    assert not seen(tail, order_id, "RefundRequested")


async def test_duplicate_and_out_of_order_facts_build_one_true_picture(returns: Runtime) -> None:
    order_id = new_order_id()
    delivered_at = now() - timedelta(days=2)
    out_of_order = [
        delivered(delivered_at),
        shipped(delivered_at - timedelta(days=1)),
        reserved(date.today() - timedelta(days=4)),
        paid(PAID),
        placed(),
    ]
    envelopes = [await send(returns, event, order_id) for event in out_of_order]
    for envelope in envelopes:
        await resend(returns, envelope)
    again_paid = await send(returns, paid(PAID), order_id)
    later_delivery = await send(returns, delivered(now()), order_id)
    await until_handled(returns, *envelopes, again_paid, later_delivery)

    view = await order_view(returns, order_id)

    assert view is not None
    assert view.paid == PAID, "a payment seen twice is paid once"
    assert view.delivered_at == delivered_at, "the first delivery counts"
    assert view.promised_ship_date == date.today() - timedelta(days=4)
    assert sorted(view.lines) == ["l1", "l2"] and view.lines["l1"].quantity == 2
    response = await ask(returns, order_id, {"reason": "changed_mind", "lines": [CUP_1]})
    assert response.status_code == 201 and response.json()["flow"] == "with_return"


async def seed_delivered(returns: Runtime, order_id: str) -> None:
    delivered_at = now() - timedelta(days=1)
    await seed(
        returns, order_id, shipped_at=delivered_at - timedelta(days=1), delivered_at=delivered_at
    )


async def ask_waived(returns: Runtime, order_id: str) -> dict[str, Any]:
    """One line of a delivered order, refunded without its return (operations waive it)."""
    request = (await ask(returns, order_id, {"reason": "changed_mind", "lines": [CUP_1]})).json()
    approved = await operate(returns, request["id"], "approve", {})
    assert approved.status_code == 200, approved.text
    return dict(request)


async def test_a_refund_paid_twice_is_counted_once(returns: Runtime, tail: TopicTail) -> None:
    order_id = new_order_id()
    await seed_delivered(returns, order_id)  # a single line is refunded after delivery
    first = await ask_waived(returns, order_id)
    payment = refund_paid(first["id"], 3_000, refund_id="rf_same_" + order_id)

    envelope = await send(returns, payment, order_id)
    await resend(returns, envelope)
    republished = await send(returns, payment, order_id)
    await until_handled(returns, envelope, republished)

    found = await until_status(returns, first["id"], order_id, "refunded")
    assert trail(found, "rf_same_" + order_id).count(("system", "refunded")) == 1
    rest = await ask(returns, order_id, {"reason": "changed_mind"})
    assert rest.status_code == 201 and rest.json()["amount"]["amount"] == PAID - 3_000


async def test_a_failed_refund_is_recorded_and_a_final_failure_frees_the_line(
    returns: Runtime,
) -> None:
    order_id = new_order_id()
    await seed_delivered(returns, order_id)  # a single line is refunded after delivery
    request = await ask_waived(returns, order_id)

    def failure(will_retry: bool) -> RefundFailed:
        return RefundFailed(
            refund_id="rf_" + order_id,
            refund_request_id=request["id"],
            amount=Money(amount=3_000, currency="CNY"),
            reason="provider_unavailable",
            will_retry=will_retry,
        )

    retrying = await send(returns, failure(True), order_id)
    await resend(returns, retrying)
    await until_handled(returns, retrying)
    retried = await fetch(returns, request["id"], order_id)
    assert trail(retried, "rf_" + order_id)[-1] == ("system", "refund_failed")
    final = await send(returns, failure(False), order_id)
    await resend(returns, final)
    await until_handled(returns, final)

    found = await fetch(returns, request["id"], order_id)
    assert found["status"] == "refund_failed"
    assert trail(found, "rf_" + order_id).count(("system", "refund_failed")) == 2
    again = await ask(returns, order_id, {"reason": "changed_mind", "lines": [CUP_1]})
    assert again.status_code == 201, again.text


async def test_a_return_parcel_delivered_by_the_carrier_approves_the_refund(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = new_order_id()
    delivered_at = now() - timedelta(days=1)
    await seed(
        returns, order_id, shipped_at=delivered_at - timedelta(days=1), delivered_at=delivered_at
    )
    request = (await ask(returns, order_id, {"reason": "wrong_item", "lines": [CUP_1]})).json()
    async with client(returns) as http:
        shipment = {"courier": "sf-express", "tracking_number": "SF-RETURN-1"}
        response = await http.post(
            f"/v1/refund-requests/{request['id']}/return-shipment",
            json=shipment,
            headers=customer(order_id),
        )
    assert response.status_code == 200, response.text

    arrived = await send(returns, delivered(now(), tracking_number="SF-RETURN-1"), order_id)
    await resend(returns, arrived)

    [received] = await payloads(tail, order_id, "ReturnReceived")
    [approved] = await payloads(tail, order_id, "RefundApproved")
    assert received["actor"] == "system" and received["lines"][0]["line_id"] == "l2"
    assert (approved["flow"], approved["amount"]["amount"]) == ("with_return", 3_000)
    await until_handled(returns, arrived)
    steps = [action for _, action in trail(await fetch(returns, request["id"], order_id))]
    assert steps == ["requested", "return_shipped", "return_received", "approved"]
    view = await order_view(returns, order_id)
    assert view is not None and view.delivered_at == delivered_at


async def test_a_refused_order_told_before_it_was_placed_is_refused_a_refund(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = new_order_id()
    refused = await send(returns, OrderRefused(reason="refused", was_paid=False), order_id)
    assert await until_held(returns, order_id, 1) == ["OrderRefused"]
    facts = [placed(), shipped(now() - timedelta(days=1))]
    await until_handled(returns, refused, *[await send(returns, e, order_id) for e in facts])

    response = await ask(returns, order_id, {"reason": "not_received"})

    assert response.status_code == 409
    assert (response.json()["error"], response.json()["state"]) == ("order_refused", "refused")
    assert not seen(tail, order_id, "RefundRequested")

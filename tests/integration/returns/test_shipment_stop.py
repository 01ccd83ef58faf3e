"""A refund before shipping is approved only once logistics says the shipment stopped; when
the parcel had already left it becomes a return, recorded and told to the customer."""

from __future__ import annotations

from shared.runtime import Runtime
from tests.integration.returns.support import (
    PAID,
    already_left,
    ask,
    cancellation,
    fetch,
    operate,
    paid_order,
    stopped,
    trail,
)
from tests.support.db import until_handled
from tests.support.events import payloads, resend, seen, send
from tests.support.kafka import TopicTail


async def test_a_refund_before_shipping_waits_for_the_stop_then_is_approved_once(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await paid_order(returns)

    body = (await ask(returns, order_id, {"reason": "changed_mind"})).json()
    [requested] = await payloads(tail, order_id, "RefundRequested")
    by_hand = await operate(returns, body["id"], "approve", {})
    refused = await operate(returns, body["id"], "reject", {"reason": "no"})
    assert (by_hand.status_code, by_hand.json()["error"]) == (409, "awaiting_shipment_stop")
    assert refused.status_code == 409, "nor is it refused while the shipment is being stopped"
    assert (requested["flow"], requested["actor"]) == ("before_shipping", "customer")
    assert not seen(tail, order_id, "RefundApproved"), "no money before the stop"

    answer = await send(returns, stopped(body["id"]), order_id)
    await resend(returns, answer)
    late = await send(returns, already_left(body["id"]), order_id)  # a contradiction, ignored
    await until_handled(returns, answer, late)

    approved = await payloads(tail, order_id, "RefundApproved")
    assert [(a["flow"], a["amount"]["amount"], a["actor"]) for a in approved] == [
        ("before_shipping", PAID, "rule")
    ]
    found = await fetch(returns, body["id"], order_id)
    assert (found["flow"], found["status"]) == ("before_shipping", "approved")
    assert trail(found) == [
        ("customer", "requested"),
        ("system", "shipment_stopped"),
        ("rule", "approved"),
    ]
    assert len(seen(tail, order_id, "RefundApproved", "RefundRequested")) == 2


async def test_a_cancellation_whose_parcel_already_left_becomes_a_return_and_is_told(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await paid_order(returns)
    cancel = cancellation()
    await send(returns, cancel, order_id)
    [requested] = await payloads(tail, order_id, "RefundRequested")
    request_id = requested["refund_request_id"]

    answer = await send(returns, already_left(request_id, "SF-RACE"), order_id)
    await resend(returns, answer)
    late = await send(returns, stopped(request_id), order_id)  # too late to count
    await until_handled(returns, answer, late)

    first, converted = await payloads(tail, order_id, "RefundRequested", count=2)
    assert (first["flow"], first["actor"]) == ("before_shipping", "system")
    assert (first["parcel_already_shipped"], converted["parcel_already_shipped"]) == (False, True)
    assert converted["refund_request_id"] == request_id
    assert (converted["flow"], converted["actor"], converted["return_shipping_paid_by"]) == (
        "with_return",
        "rule",
        "customer",
    ), "the customer hears of it (notify tells what is not the system's own paperwork)"
    assert converted["amount"]["amount"] == PAID
    assert not seen(tail, order_id, "RefundApproved"), "no refund while the goods travel"
    found = await fetch(returns, request_id, order_id)
    assert (found["flow"], found["status"]) == ("with_return", "requested")
    assert found["return_shipping_paid_by"] == "customer"
    assert trail(found) == [("system", "requested"), ("rule", "converted")]
    step = found["steps"][1]["details"]
    assert (step["from_flow"], step["tracking_number"]) == ("before_shipping", "SF-RACE")
    assert len(seen(tail, order_id, "RefundRequested")) == 2

"""Refunds approved by returns: paid through the provider, capped, once, retried on failure."""

from __future__ import annotations

from shared.contracts.envelope import Envelope
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.returns import RefundApproved
from tests.integration.payment.support import (
    Payment,
    approved,
    assert_balanced,
)
from tests.support.db import until_handled


async def approve(pay: Payment, order_id: str, event: RefundApproved) -> Envelope:
    return await pay.send(event, order_id)


async def test_partial_refunds_are_capped_and_each_approval_refunds_once(pay: Payment) -> None:
    order_id = await pay.paid_order(10_000)
    first = await approve(pay, order_id, approved("rr_1", 3_000))
    await pay.resend(first)  # redelivered
    again = await approve(pay, order_id, approved("rr_1", 3_000))  # approved twice
    [paid] = await pay.published(order_id, "RefundPaid")
    assert (paid["refund_request_id"], paid["amount"]["amount"]) == ("rr_1", 3_000)
    assert (paid["reason"], paid["requested_amount"]) == ("no_return", None)
    partly = await pay.view_when(order_id, "partially_refunded")
    assert (partly["refunded"], partly["net"]) == (3_000, 7_000)

    beyond = await approve(pay, order_id, approved("rr_2", 9_000))
    [_, capped] = await pay.published(order_id, "RefundPaid", count=2)
    assert capped["refund_request_id"] == "rr_2"
    assert capped["amount"]["amount"] == 7_000, "never more than captured minus refunded"
    assert capped["requested_amount"]["amount"] == 9_000

    nothing_left = await approve(pay, order_id, approved("rr_3", 100))
    [refused] = await pay.published(order_id, "RefundFailed")
    assert (refused["refund_request_id"], refused["reason"]) == ("rr_3", "nothing_left_to_refund")
    assert refused["will_retry"] is False
    await until_handled(pay.runtime, first, again, beyond, nothing_left)

    assert await pay.outbox(order_id) == [
        "PaymentRequested",
        "PaymentSucceeded",
        "RefundPaid",
        "RefundPaid",
        "RefundFailed",
    ]
    body = await pay.view(order_id)
    assert (body["status"], body["captured"], body["refunded"], body["net"]) == (
        "refunded",
        10_000,
        10_000,
        0,
    )
    assert [(e["kind"], e["amount"]) for e in body["ledger"]] == [
        ("charge", 10_000),
        ("refund", 3_000),
        ("refund", 7_000),
    ]
    assert_balanced(body)


async def test_a_refund_the_provider_cannot_pay_yet_is_retried_until_paid(pay: Payment) -> None:
    order_id = await pay.paid_order(6_000)
    down = await pay.http.post("/sandbox/refund-failures", json={"count": 2})
    assert down.status_code == 202
    await approve(pay, order_id, approved("rr_retry", 6_000))

    [failed] = await pay.published(order_id, "RefundFailed")
    assert (failed["reason"], failed["will_retry"]) == ("provider_unavailable", True)
    [paid] = await pay.published(order_id, "RefundPaid")
    assert paid["refund_id"] == failed["refund_id"]
    assert paid["amount"]["amount"] == 6_000
    body = await pay.view(order_id)
    [refund] = body["refunds"]
    assert (refund["status"], refund["attempts"]) == ("paid", 3)
    assert await pay.outbox(order_id) == [
        "PaymentRequested",
        "PaymentSucceeded",
        "RefundFailed",
        "RefundPaid",
    ], "the customer hears of the delay once, then of the refund"
    assert (body["refunded"], body["net"]) == (6_000, 0)
    assert_balanced(body)


async def test_an_approval_for_an_unpaid_order_is_refused(pay: Payment) -> None:
    order_id, _ = await pay.checkout(PaymentMethod.CASH_ON_DELIVERY)
    await approve(pay, order_id, approved("rr_unpaid", 1_000))
    [refused] = await pay.published(order_id, "RefundFailed")
    assert (refused["reason"], refused["amount"]["amount"]) == ("nothing_captured", 1_000)
    body = await pay.view(order_id)
    assert (body["captured"], body["refunded"], body["ledger"]) == (0, 0, [])

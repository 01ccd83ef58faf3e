"""Retrying within the payment window; a success too late or too many is refunded."""

from __future__ import annotations

from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.order import OrderCancelled, OrderClosed
from tests.integration.payment.support import (
    Payment,
    assert_balanced,
    callback,
)
from tests.support.events import new_order_id
from tests.support.http import SHOP, customer


def retry_url(order_id: str) -> str:
    return f"/v1/orders/{order_id}/payment/retry"


async def test_a_failed_payment_is_retried_with_another_method_and_paid(pay: Payment) -> None:
    order_id, first = await pay.checkout(PaymentMethod.CARD)
    await pay.complete(first["checkout_url"], outcome="fail", reason="bank_limit")
    [failed] = await pay.published(order_id, "PaymentFailed")
    assert (failed["attempt_id"], failed["reason"]) == (first["attempt_id"], "bank_limit")
    assert failed["retry_allowed"] is True
    assert "limit" in failed["message"]

    cod = await pay.http.post(
        retry_url(order_id), json={"method": "cash_on_delivery"}, headers=SHOP
    )
    assert (cod.status_code, cod.json()["field"]) == (422, "method")
    unknown = await pay.http.post(retry_url(order_id), json={"method": "cheque"}, headers=SHOP)
    assert unknown.status_code == 422
    assert unknown.json()["fields"][0]["field"] == "method"
    nobody = await pay.http.post(retry_url(order_id), json={"method": "wallet"})
    assert nobody.status_code == 401

    retried = await pay.http.post(
        retry_url(order_id), json={"method": "wallet"}, headers=customer(order_id)
    )
    assert retried.status_code == 201, retried.text
    [_, second] = await pay.published(order_id, "PaymentRequested", count=2)
    assert second["attempt_id"] == retried.json()["attempt_id"] != first["attempt_id"]
    assert (second["method"], second["checkout_url"]) == ("wallet", retried.json()["checkout_url"])

    await pay.complete(second["checkout_url"], outcome="succeed")
    [paid] = await pay.published(order_id, "PaymentSucceeded")
    assert (paid["attempt_id"], paid["method"]) == (second["attempt_id"], "wallet")
    body = await pay.view_when(order_id, "paid")
    assert body["method"] == "wallet"
    assert [a["status"] for a in body["attempts"]] == ["superseded", "succeeded"]
    assert body["attempts"][0]["failure_reason"] == "bank_limit"

    again = await pay.http.post(retry_url(order_id), json={"method": "card"}, headers=SHOP)
    assert again.status_code == 409
    # `status` is the problem's HTTP status; the payment's own is `payment_status`
    refused = again.json()
    assert (refused["reason"], refused["payment_status"]) == ("already_paid", "paid")
    assert len((await pay.view(order_id))["attempts"]) == 2, "a refused retry opens nothing"


async def test_a_retry_after_the_window_is_refused(pay: Payment) -> None:
    order_id, _ = await pay.checkout(PaymentMethod.CARD, due_in=-1)
    refused = await pay.http.post(retry_url(order_id), json={"method": "card"}, headers=SHOP)
    assert refused.status_code == 409
    assert refused.json()["reason"] == "payment_window_over"
    assert await pay.outbox(order_id) == ["PaymentRequested"]
    missing = await pay.http.post(retry_url(new_order_id()), json={"method": "card"}, headers=SHOP)
    assert missing.status_code == 404


async def test_a_success_after_the_order_closed_is_refunded_automatically(pay: Payment) -> None:
    order_id, requested = await pay.checkout(PaymentMethod.WALLET)
    await pay.send(OrderClosed(), order_id)
    closed = await pay.view_when(order_id, "expired")
    assert closed["attempts"][0]["status"] == "expired"
    refused = await pay.http.post(retry_url(order_id), json={"method": "card"}, headers=SHOP)
    assert (refused.status_code, refused.json()["reason"]) == (409, "order_closed")

    await pay.complete(requested["checkout_url"], outcome="succeed", repeat=2)
    [refund] = await pay.published(order_id, "RefundPaid")
    assert refund["refund_request_id"] is None
    assert (refund["reason"], refund["amount"]["amount"]) == ("late_payment", 12_900)
    late = await pay.deliver(callback(order_id, requested, "succeeded"))
    assert late.json()["effect"] == "already_applied"
    assert await pay.outbox(order_id) == [
        "PaymentRequested",
        "PaymentSucceeded",
        "RefundPaid",
    ], "the capture and its refund, so the order's totals match the ledger"
    body = await pay.view(order_id)
    assert (body["status"], body["captured"], body["refunded"], body["net"]) == (
        "expired",
        12_900,
        12_900,
        0,
    )
    assert_balanced(body)


async def test_a_payment_the_order_never_counted_is_refunded_when_it_is_cancelled(
    pay: Payment,
) -> None:
    """The success and the cancellation crossed: payment accepted it, the order did not."""
    order_id, requested = await pay.checkout(PaymentMethod.CARD)
    await pay.deliver(callback(order_id, requested, "succeeded"))
    await pay.send(OrderCancelled(reason="customer_request", was_paid=False), order_id)
    [refund] = await pay.published(order_id, "RefundPaid")
    assert (refund["reason"], refund["amount"]["amount"]) == ("late_payment", 12_900)
    assert await pay.outbox(order_id) == [
        "PaymentRequested",
        "PaymentSucceeded",
        "RefundPaid",
    ]
    body = await pay.view(order_id)
    assert (body["status"], body["net"], body["order_ended"]) == ("refunded", 0, "cancelled")
    assert_balanced(body)


async def test_a_second_success_through_another_attempt_is_refunded(pay: Payment) -> None:
    order_id, first = await pay.checkout(PaymentMethod.PAY_FOR_ME, amount=8_800)
    retried = await pay.http.post(retry_url(order_id), json={"method": "card"}, headers=SHOP)
    assert retried.status_code == 201
    [_, second] = await pay.published(order_id, "PaymentRequested", count=2)

    # a friend pays the first link while the customer pays the new checkout
    await pay.complete(first["pay_link"], outcome="succeed")
    [paid] = await pay.published(order_id, "PaymentSucceeded")
    assert paid["attempt_id"] == first["attempt_id"], "a superseded link that is paid still pays"
    await pay.complete(second["checkout_url"], outcome="succeed")
    [refund] = await pay.published(order_id, "RefundPaid")
    assert (refund["reason"], refund["amount"]["amount"]) == ("duplicate_payment", 8_800)

    body = await pay.view(order_id)
    assert (body["status"], body["captured"], body["refunded"], body["net"]) == (
        "paid",
        17_600,
        8_800,
        8_800,
    )
    assert [e["purpose"] for e in body["ledger"]] == [
        "payment",
        "duplicate_payment",
        "duplicate_payment",
    ]
    assert_balanced(body)
    assert await pay.outbox(order_id) == [
        "PaymentRequested",
        "PaymentRequested",
        "PaymentSucceeded",
        "PaymentSucceeded",
        "RefundPaid",
    ]

"""A provider's success pays the order only when it captured what the order owes."""

from __future__ import annotations

import json
from typing import Any

import httpx
from prometheus_client import REGISTRY

from shared.contracts.events.common import PaymentMethod
from tests.integration.payment.support import (
    Payment,
    assert_balanced,
    callback,
)
from tests.support.http import SHOP


def captured(order_id: str, requested: dict[str, Any], amount: int, currency: str) -> bytes:
    body = json.loads(callback(order_id, requested, "succeeded"))
    body["amount"] = {"amount": amount, "currency": currency}
    return json.dumps(body).encode()


async def capture(
    pay: Payment, method: PaymentMethod, amount: int, currency: str
) -> tuple[str, httpx.Response]:
    """A 9,900 fen order paid by `method`, and payment's reply to the provider's word that
    it captured `amount` in `currency`."""
    order_id, requested = await pay.checkout(method, amount=9_900)
    return order_id, await pay.deliver(captured(order_id, requested, amount, currency))


def mismatches(kind: str) -> float:
    labels = {"provider": "sandbox", "kind": kind}
    return REGISTRY.get_sample_value("fulfil_payment_amount_mismatches_total", labels) or 0.0


async def test_one_fen_for_a_9900_fen_order_does_not_pay_it_and_is_refunded(pay: Payment) -> None:
    before = mismatches("underpaid")
    order_id, reply = await capture(pay, PaymentMethod.CARD, 1, "CNY")

    assert reply.json()["effect"] == "underpaid"
    [failed] = await pay.published(order_id, "PaymentFailed")
    assert (failed["reason"], failed["retry_allowed"]) == ("underpaid", True)
    assert "refunded" in failed["message"]
    [refund] = await pay.published(order_id, "RefundPaid")
    assert (refund["amount"], refund["reason"]) == ({"amount": 1, "currency": "CNY"}, "underpaid")
    assert "PaymentSucceeded" not in await pay.outbox(order_id)
    body = await pay.view(order_id)
    assert body["status"] == "failed"
    assert (body["captured"], body["refunded"], body["net"]) == (1, 1, 0)
    assert [e["purpose"] for e in body["ledger"] if e["kind"] == "charge"] == ["underpaid"]
    assert_balanced(body)
    assert mismatches("underpaid") == before + 1

    retry = await pay.http.post(
        f"/v1/orders/{order_id}/payment/retry",
        json={"method": "card"},
        headers=SHOP,
    )
    assert retry.status_code == 201, retry.text  # the customer may pay again


async def test_a_capture_in_another_currency_does_not_pay_the_order(pay: Payment) -> None:
    order_id, reply = await capture(pay, PaymentMethod.WALLET, 9_900, "USD")

    assert reply.json()["effect"] == "wrong_currency"
    [failed] = await pay.published(order_id, "PaymentFailed")
    assert failed["reason"] == "wrong_currency"
    [refund] = await pay.published(order_id, "RefundPaid")
    assert refund["amount"] == {"amount": 9_900, "currency": "USD"}
    assert (await pay.view(order_id))["status"] == "failed"


async def test_an_overpaid_order_is_paid_and_the_difference_refunded(pay: Payment) -> None:
    before = mismatches("overpaid")
    order_id, reply = await capture(pay, PaymentMethod.CARD, 10_000, "CNY")

    assert reply.json()["effect"] == "overpaid"
    [paid] = await pay.published(order_id, "PaymentSucceeded")
    assert paid["amount"] == {"amount": 10_000, "currency": "CNY"}
    [refund] = await pay.published(order_id, "RefundPaid")
    assert (refund["amount"], refund["reason"]) == ({"amount": 100, "currency": "CNY"}, "overpaid")
    body = await pay.view_when(order_id, "paid")
    assert (body["captured"], body["refunded"], body["net"]) == (10_000, 100, 9_900)
    assert_balanced(body)
    assert mismatches("overpaid") == before + 1

"""A provider's success pays the order only when it captured what the order owes."""

from __future__ import annotations

import json
from typing import Any

import httpx
from prometheus_client import REGISTRY

from shared.contracts.events.common import PaymentMethod
from shared.runtime import Runtime
from tests.integration.payment.support import (
    assert_balanced,
    callback,
    checkout,
    deliver,
    outbox_types,
    view,
    view_when,
)
from tests.support.events import payloads
from tests.support.http import SHOP
from tests.support.infra import Infra
from tests.support.kafka import TopicTail


def captured(order_id: str, requested: dict[str, Any], amount: int, currency: str) -> bytes:
    body = json.loads(callback(order_id, requested, "succeeded"))
    body["amount"] = {"amount": amount, "currency": currency}
    return json.dumps(body).encode()


async def capture(
    infra: Infra,
    tail: TopicTail,
    client: httpx.AsyncClient,
    method: PaymentMethod,
    amount: int,
    currency: str,
) -> tuple[str, httpx.Response]:
    """A 9,900 fen order paid by `method`, and payment's reply to the provider's word that
    it captured `amount` in `currency`."""
    order_id, requested = await checkout(infra, tail, method, amount=9_900)
    return order_id, await deliver(client, captured(order_id, requested, amount, currency))


def mismatches(kind: str) -> float:
    labels = {"provider": "sandbox", "kind": kind}
    return REGISTRY.get_sample_value("fulfil_payment_amount_mismatches_total", labels) or 0.0


async def test_one_fen_for_a_9900_fen_order_does_not_pay_it_and_is_refunded(
    infra: Infra, payment: Runtime, client: httpx.AsyncClient, tail: TopicTail
) -> None:
    before = mismatches("underpaid")
    order_id, reply = await capture(infra, tail, client, PaymentMethod.CARD, 1, "CNY")

    assert reply.json()["effect"] == "underpaid"
    [failed] = await payloads(tail, order_id, "PaymentFailed")
    assert (failed["reason"], failed["retry_allowed"]) == ("underpaid", True)
    assert "refunded" in failed["message"]
    [refund] = await payloads(tail, order_id, "RefundPaid")
    assert (refund["amount"], refund["reason"]) == ({"amount": 1, "currency": "CNY"}, "underpaid")
    assert "PaymentSucceeded" not in await outbox_types(payment, order_id)
    body = await view(client, order_id)
    assert body["status"] == "failed"
    assert (body["captured"], body["refunded"], body["net"]) == (1, 1, 0)
    assert [e["purpose"] for e in body["ledger"] if e["kind"] == "charge"] == ["underpaid"]
    assert_balanced(body)
    assert mismatches("underpaid") == before + 1

    retry = await client.post(
        f"/v1/orders/{order_id}/payment/retry",
        json={"method": "card"},
        headers=SHOP,
    )
    assert retry.status_code == 201, retry.text  # the customer may pay again


async def test_a_capture_in_another_currency_does_not_pay_the_order(
    infra: Infra, payment: Runtime, client: httpx.AsyncClient, tail: TopicTail
) -> None:
    order_id, reply = await capture(infra, tail, client, PaymentMethod.WALLET, 9_900, "USD")

    assert reply.json()["effect"] == "wrong_currency"
    [failed] = await payloads(tail, order_id, "PaymentFailed")
    assert failed["reason"] == "wrong_currency"
    [refund] = await payloads(tail, order_id, "RefundPaid")
    assert refund["amount"] == {"amount": 9_900, "currency": "USD"}
    assert (await view(client, order_id))["status"] == "failed"


async def test_an_overpaid_order_is_paid_and_the_difference_refunded(
    infra: Infra, payment: Runtime, client: httpx.AsyncClient, tail: TopicTail
) -> None:
    before = mismatches("overpaid")
    order_id, reply = await capture(infra, tail, client, PaymentMethod.CARD, 10_000, "CNY")

    assert reply.json()["effect"] == "overpaid"
    [paid] = await payloads(tail, order_id, "PaymentSucceeded")
    assert paid["amount"] == {"amount": 10_000, "currency": "CNY"}
    [refund] = await payloads(tail, order_id, "RefundPaid")
    assert (refund["amount"], refund["reason"]) == ({"amount": 100, "currency": "CNY"}, "overpaid")
    body = await view_when(client, order_id, "paid")
    assert (body["captured"], body["refunded"], body["net"]) == (10_000, 100, 9_900)
    assert_balanced(body)
    assert mismatches("overpaid") == before + 1

"""An exchange's price difference: charged through a session of its own, captured once into
the order's ledger without touching the order's payment, closed when the exchange is
cancelled (a capture after that refunded at once), and there for later refunds to draw on."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from services.payment.providers.sandbox import SandboxProvider
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.returns import ExchangeCancelled
from tests.integration.payment.support import (
    Payment,
    accepted,
    approved,
    assert_balanced,
    callback,
    new_exchange_id,
)
from tests.support import events
from tests.support.db import until_handled
from tests.support.polling import eventually


def sandbox(pay: Payment) -> SandboxProvider:
    provider = pay.runtime.deps.providers["sandbox"]
    assert isinstance(provider, SandboxProvider)
    return provider


def session_of(requested: dict[str, Any]) -> str:
    return str(httpx.URL(requested["checkout_url"]).path.rsplit("/", 1)[-1])


async def test_a_charge_is_requested_once_and_captured_once_without_touching_the_order(
    pay: Payment,
) -> None:
    order_id = await pay.paid_order(10_000)
    before = await pay.view(order_id)
    exchange_id, pay_by = new_exchange_id(), events.now() + timedelta(hours=48)
    first = await pay.send(accepted(exchange_id, 2_000, pay_by=pay_by), order_id)
    twice = await pay.send(accepted(exchange_id, 2_000, pay_by=pay_by), order_id)  # told twice
    await pay.resend(first)  # and redelivered
    [requested] = await pay.published(order_id, "ExchangePaymentRequested")
    assert (requested["exchange_id"], requested["amount"]) == (
        exchange_id,
        {"amount": 2_000, "currency": "CNY"},
    )
    assert "/sandbox/checkout/" in requested["checkout_url"]
    assert datetime.fromisoformat(requested["expires_at"]) == pay_by
    await until_handled(pay.runtime, first, twice)
    opened = [a for _, a in sandbox(pay).sessions_opened if a == requested["attempt_id"]]
    assert opened == [requested["attempt_id"]], "one session for the exchange"

    await pay.complete(requested["checkout_url"], outcome="succeed", repeat=2)  # sent twice
    [succeeded] = await pay.published(order_id, "ExchangePaymentSucceeded")
    assert (succeeded["exchange_id"], succeeded["attempt_id"]) == (
        exchange_id,
        requested["attempt_id"],
    )
    assert (succeeded["amount"]["amount"], succeeded["provider"]) == (2_000, "sandbox")
    await eventually(lambda: _callbacks_done(pay), what="both callbacks delivered")

    after = await pay.view(order_id)
    assert after["attempts"] == before["attempts"], "the order's own attempts are untouched"
    assert (after["status"], after["paid_attempt_id"]) == ("paid", before["paid_attempt_id"])
    assert (after["captured"], after["net"]) == (12_000, 12_000)
    [exchange] = after["exchanges"]
    assert (exchange["exchange_id"], exchange["status"]) == (exchange_id, "succeeded")
    assert [(e["purpose"], e["amount"]) for e in after["ledger"]] == [
        ("payment", 10_000),
        ("exchange", 2_000),
    ]
    assert await pay.outbox(order_id) == [
        "PaymentRequested",
        "PaymentSucceeded",
        "ExchangePaymentRequested",
        "ExchangePaymentSucceeded",
    ], "never a PaymentSucceeded for the exchange's capture"

    # later refunds draw on the order's payment first, then on the exchange's capture
    await pay.send(approved("rr_x1", 10_000), order_id)
    await pay.published(order_id, "RefundPaid")
    await pay.send(approved("rr_x2", 3_000), order_id)
    [_, second] = await pay.published(order_id, "RefundPaid", count=2)
    assert second["refund_request_id"] == "rr_x2"
    assert (second["amount"]["amount"], second["requested_amount"]["amount"]) == (2_000, 3_000)
    body = await pay.view_when(order_id, "refunded")
    refunds = [(e["attempt_id"], e["amount"]) for e in body["ledger"] if e["kind"] == "refund"]
    assert refunds == [(before["paid_attempt_id"], 10_000), (requested["attempt_id"], 2_000)]
    capture = next(e for e in body["ledger"] if e["purpose"] == "exchange")
    assert (capture["provider_reference"], Money(amount=2_000, currency="CNY")) in sandbox(
        pay
    ).refunds_paid, "refunded against the exchange's capture at the provider"
    assert_balanced(body)


async def _callbacks_done(pay: Payment) -> bool:
    return sandbox(pay).in_flight == 0


async def test_a_cancelled_exchange_closes_its_session_and_a_late_capture_is_refunded(
    pay: Payment,
) -> None:
    order_id = await pay.paid_order(8_000)
    exchange_id = new_exchange_id()
    await pay.send(accepted(exchange_id, 1_500), order_id)
    [requested] = await pay.published(order_id, "ExchangePaymentRequested")
    cancelled = await pay.send(
        ExchangeCancelled(exchange_id=exchange_id, reason="unpaid"), order_id
    )
    await until_handled(pay.runtime, cancelled)

    session = session_of(requested)
    await eventually(
        lambda: _closed(pay, session), what="the exchange's session closed at the provider"
    )
    page = await pay.http.post(
        f"{httpx.URL(requested['checkout_url']).path}/complete", json={"outcome": "succeed"}
    )
    assert page.status_code == 409, "a closed checkout can no longer be paid"

    # the customer paid just before it closed: the provider's capture still arrives
    late = callback(order_id, {**requested, "pay_link": None}, "succeeded")
    reply = await pay.deliver(late)
    assert (reply.status_code, reply.json()["effect"]) == (200, "late_payment")
    assert (await pay.deliver(late)).json()["effect"] == "duplicate"
    [refund] = await pay.published(order_id, "RefundPaid")
    assert (refund["reason"], refund["refund_request_id"], refund["amount"]["amount"]) == (
        "late_exchange_payment",
        None,
        1_500,
    )
    body = await pay.view(order_id)
    assert body["exchanges"][0]["status"] == "cancelled"
    assert (body["status"], body["net"]) == ("paid", 8_000), "the order keeps its payment"
    assert await pay.outbox(order_id) == [
        "PaymentRequested",
        "PaymentSucceeded",
        "ExchangePaymentRequested",
        "RefundPaid",
    ]
    assert_balanced(body)


async def _closed(pay: Payment, session: str) -> bool:
    return session in sandbox(pay).sessions_closed


async def test_cash_on_delivery_exchanges_are_paid_online_and_others_charge_nothing(
    pay: Payment,
) -> None:
    order_id, _ = await pay.checkout(PaymentMethod.CASH_ON_DELIVERY)
    refund, none = new_exchange_id(), new_exchange_id()
    told = [
        await pay.send(accepted(refund, 500, settlement="refund"), order_id),
        await pay.send(accepted(none, 0, settlement="none"), order_id),
    ]
    charged = new_exchange_id()
    await pay.send(accepted(charged, 900), order_id)
    [requested] = await pay.published(order_id, "ExchangePaymentRequested")
    assert requested["exchange_id"] == charged
    assert "/sandbox/checkout/" in requested["checkout_url"], "a checkout page, paid online"
    await until_handled(pay.runtime, *told)
    [exchange] = (await pay.view(order_id))["exchanges"]
    assert (exchange["method"], exchange["status"]) == ("card", "open")
    assert await pay.outbox(order_id) == ["PaymentRequested", "ExchangePaymentRequested"]


async def test_a_charge_paid_as_the_exchange_was_cancelled_is_refunded(pay: Payment) -> None:
    order_id = await pay.paid_order(5_000)
    exchange_id = new_exchange_id()
    await pay.send(accepted(exchange_id, 700), order_id)
    [requested] = await pay.published(order_id, "ExchangePaymentRequested")
    await pay.complete(requested["checkout_url"], outcome="succeed")
    await pay.published(order_id, "ExchangePaymentSucceeded")
    # returns' deadline fired before it heard of the payment: the exchange is cancelled
    await pay.send(ExchangeCancelled(exchange_id=exchange_id, reason="unpaid"), order_id)
    [refund] = await pay.published(order_id, "RefundPaid")
    assert (refund["reason"], refund["amount"]["amount"]) == ("late_exchange_payment", 700)
    body = await pay.view(order_id)
    assert (body["status"], body["net"], body["exchanges"][0]["status"]) == (
        "paid",
        5_000,
        "cancelled",
    )

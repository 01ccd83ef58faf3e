"""Reconciling exchange charges against the sandbox: an exchange paid at the provider whose
callback never arrives is found by asking it, a cancelled one the customer paid just
before it closed is found and refunded, and one still waiting is left alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest_asyncio

from services.payment.app import build
from services.payment.providers.sandbox import SandboxProvider
from services.payment.settings import PaymentSettings
from services.payment.steps.reconcile import LOCK
from shared.contracts.events.returns import ExchangeCancelled
from shared.runtime import Runtime
from tests.integration.payment.support import (
    Payment,
    accepted,
    assert_balanced,
    callback,
    new_exchange_id,
)
from tests.support import db
from tests.support.db import until_handled
from tests.support.http import OPS
from tests.support.infra import Infra
from tests.support.polling import eventually
from tests.support.services import service

LOST = 3600  # a callback told to wait this long never arrives while the test runs


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def payment(infra: Infra) -> AsyncIterator[Runtime]:
    """This module's payment service reconciles every 0.3 s, half a second after a
    session opened."""
    dsn = await infra.create_database("payment_xrecon")
    async with service(
        build,
        PaymentSettings,
        infra,
        dsn,
        refund_retry_base_seconds=0.3,
        refund_retry_max_seconds=1.0,
        effects_lease_seconds=1.0,
        effects_poll_seconds=0.2,
        reconcile_every_seconds=0.3,
        reconcile_after_seconds=0.5,
    ) as runtime:
        yield runtime


def sandbox(pay: Payment) -> SandboxProvider:
    provider = pay.runtime.deps.providers["sandbox"]
    assert isinstance(provider, SandboxProvider)
    return provider


async def charge_row(pay: Payment, exchange_id: str) -> dict[str, Any]:
    [row] = await db.rows(
        pay.runtime, "SELECT * FROM exchange_charges WHERE exchange_id = $1", exchange_id
    )
    return row


async def requested_exchange(pay: Payment, order_id: str, amount: int) -> tuple[str, Any]:
    exchange_id = new_exchange_id()
    await pay.send(accepted(exchange_id, amount), order_id)
    [requested] = await pay.published(order_id, "ExchangePaymentRequested")
    return exchange_id, requested


async def test_an_exchange_paid_whose_callback_was_lost_is_found_by_asking(pay: Payment) -> None:
    order_id = await pay.paid_order(10_000)
    exchange_id, requested = await requested_exchange(pay, order_id, 2_000)
    told = await pay.complete(requested["checkout_url"], outcome="succeed", delay_seconds=LOST)

    [succeeded] = await pay.published(order_id, "ExchangePaymentSucceeded")
    assert (succeeded["exchange_id"], succeeded["amount"]["amount"]) == (exchange_id, 2_000)
    row = await charge_row(pay, exchange_id)
    assert (row["status"], row["provider_state"]) == ("succeeded", "final")

    # the callback comes after all, as the provider sent it and as another event
    request = {**requested, "pay_link": None}
    same = callback(order_id, request, "succeeded", event_id=told["event_id"])
    assert (await pay.deliver(same)).json()["effect"] == "duplicate"
    other = callback(order_id, request, "succeeded")
    assert (await pay.deliver(other)).json()["effect"] == "already_applied"
    body = await pay.view(order_id)
    assert [(e["purpose"], e["amount"]) for e in body["ledger"]] == [
        ("payment", 10_000),
        ("exchange", 2_000),
    ]
    assert body["exchanges"][0]["status"] == "succeeded"
    assert await pay.outbox(order_id) == [
        "PaymentRequested",
        "PaymentSucceeded",
        "ExchangePaymentRequested",
        "ExchangePaymentSucceeded",
    ]


async def test_an_exchange_cancelled_after_the_customer_paid_is_found_and_refunded(
    pay: Payment,
) -> None:
    order_id = await pay.paid_order(8_000)
    paused = await asyncpg.connect(pay.runtime.settings.database_url)
    try:  # no pass runs until the exchange is cancelled and its session closed
        await paused.execute("SELECT pg_advisory_lock($1)", LOCK)
        exchange_id, requested = await requested_exchange(pay, order_id, 1_500)
        await pay.complete(requested["checkout_url"], outcome="succeed", delay_seconds=LOST)
        cancelled = await pay.send(
            ExchangeCancelled(exchange_id=exchange_id, reason="unpaid"), order_id
        )
        await until_handled(pay.runtime, cancelled)
        await eventually(lambda: _closed(pay, exchange_id), what="the session closed")
        assert (await charge_row(pay, exchange_id))["checked_at"] is None
    finally:
        await paused.execute("SELECT pg_advisory_unlock($1)", LOCK)
        await paused.close()

    [refund] = await pay.published(order_id, "RefundPaid")
    assert (refund["reason"], refund["refund_request_id"], refund["amount"]["amount"]) == (
        "late_exchange_payment",
        None,
        1_500,
    )
    row = await charge_row(pay, exchange_id)
    assert (row["status"], row["provider_state"]) == ("cancelled", "final")
    assert row["checked_at"] >= row["closed_at"], "asked after the session closed"
    body = await pay.view(order_id)
    assert (body["status"], body["net"]) == ("paid", 8_000), "the order keeps its payment"
    assert [(e["purpose"], e["amount"]) for e in body["ledger"] if e["kind"] == "charge"] == [
        ("payment", 8_000),
        ("late_payment", 1_500),
    ]
    assert await pay.outbox(order_id) == [
        "PaymentRequested",
        "PaymentSucceeded",
        "ExchangePaymentRequested",
        "RefundPaid",
    ], "refunded once, never told as the exchange's payment"
    assert_balanced(body)


async def _closed(pay: Payment, exchange_id: str) -> bool:
    return (await charge_row(pay, exchange_id))["closed_at"] is not None


async def test_an_exchange_still_waiting_is_asked_again_and_left_alone(pay: Payment) -> None:
    order_id = await pay.paid_order(6_000)
    exchange_id, _ = await requested_exchange(pay, order_id, 900)

    async def checked() -> datetime | None:
        checked_at: datetime | None = (await charge_row(pay, exchange_id))["checked_at"]
        return checked_at

    first = await eventually(checked, what="asked")

    async def asked_again() -> bool:
        later = await checked()
        return later is not None and later > first

    await eventually(asked_again, what="asked again later")
    row = await charge_row(pay, exchange_id)
    assert (row["status"], row["provider_state"]) == ("open", "pending")
    assert await pay.outbox(order_id) == [
        "PaymentRequested",
        "PaymentSucceeded",
        "ExchangePaymentRequested",
    ]


async def test_a_cancelled_exchange_nobody_paid_is_asked_once_after_its_close(
    pay: Payment,
) -> None:
    order_id = await pay.paid_order(5_000)
    exchange_id, _ = await requested_exchange(pay, order_id, 700)
    await pay.send(ExchangeCancelled(exchange_id=exchange_id, reason="unpaid"), order_id)

    async def settled() -> dict[str, Any] | None:
        row = await charge_row(pay, exchange_id)
        return row if row["provider_state"] == "final" else None

    row = await eventually(settled, what="asked after the close, then left")
    assert row["status"] == "cancelled" and row["checked_at"] >= row["closed_at"]
    assert await pay.outbox(order_id) == [
        "PaymentRequested",
        "PaymentSucceeded",
        "ExchangePaymentRequested",
    ]


async def test_the_daily_report_compares_exchange_charges_with_their_provider(
    pay: Payment,
) -> None:
    order_id = await pay.paid_order(4_000)
    exchange_id, requested = await requested_exchange(pay, order_id, 1_200)
    await pay.complete(requested["checkout_url"], outcome="succeed")
    await pay.published(order_id, "ExchangePaymentSucceeded")
    today = datetime.now(UTC).date()

    report = await _report(pay, today)
    check = report["provider_check"]
    assert check["exchange_charges"] >= 1 and check["attempts"] > check["exchange_charges"]
    assert exchange_id not in {d.get("exchange_id") for d in check["differences"]}

    session = sandbox(pay).session(requested["checkout_url"].rsplit("/", 1)[-1])
    assert session is not None
    sandbox(pay).complete(session, outcome="fail", reason="disputed", delay_seconds=LOST)
    again = await _report(pay, today)  # the provider now disagrees with the ledger
    [difference] = [
        d for d in again["provider_check"]["differences"] if d.get("exchange_id") == exchange_id
    ]
    assert (difference["attempt_id"], difference["order_id"]) == (requested["attempt_id"], order_id)
    assert (difference["problem"], difference["ledger_charged"]) == ("state_differs", 1_200)
    assert (difference["provider_state"], difference["provider_captured"]) == ("failed", None)


async def _report(pay: Payment, day: Any) -> dict[str, Any]:
    response = await pay.http.get(f"/v1/ops/reconciliation?date={day}", headers=OPS)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body

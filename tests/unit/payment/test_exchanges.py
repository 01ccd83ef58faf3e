"""What a provider's report does to an exchange's charge, decided before anything is saved."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from services.payment.domain.exchanges import (
    EXCHANGE,
    ExchangeCharge,
    ExchangeSettlement,
    ExchangeStatus,
    new_exchange_charge,
    payment_requested,
    provider_state_after,
    session_method,
    settle_exchange_failure,
    settle_exchange_success,
)
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from tests.unit.payment.states import NOW

PAY_BY = NOW + timedelta(hours=48)
PENDING = new_exchange_charge(
    exchange_id="exc_1",
    attempt_id="pxc_1",
    order_id="ord_1",
    method=PaymentMethod.CARD,
    provider="sandbox",
    difference=Money(amount=2_000, currency="CNY"),
    pay_by=PAY_BY,
    now=NOW,
)
OPEN = replace(PENDING, status=ExchangeStatus.OPEN, session_id="s1", checkout_url="https://x")


def success(
    charge: ExchangeCharge = OPEN, amount: int = 2_000, currency: str = "CNY", charged: bool = False
) -> ExchangeSettlement:
    return settle_exchange_success(
        charge,
        charged=charged,
        amount=Money(amount=amount, currency=currency),
        reference="ch_1",
        paid_at=NOW,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("order_method", "expected"),
    [
        (PaymentMethod.WALLET, PaymentMethod.WALLET),
        (PaymentMethod.CARD, PaymentMethod.CARD),
        (PaymentMethod.CASH_ON_DELIVERY, PaymentMethod.ONLINE_BANKING),
        (PaymentMethod.PAY_FOR_ME, PaymentMethod.ONLINE_BANKING),
    ],
)
def test_an_exchange_is_paid_online_with_the_orders_method_or_the_fallback(
    order_method: PaymentMethod, expected: PaymentMethod
) -> None:
    assert session_method(order_method, PaymentMethod.ONLINE_BANKING) == expected


def test_the_request_names_the_exchange_its_amount_and_the_deadline() -> None:
    requested = payment_requested(OPEN, "https://pay.example/s1")
    assert (requested.exchange_id, requested.attempt_id) == ("exc_1", "pxc_1")
    assert requested.amount == Money(amount=2_000, currency="CNY")
    assert (requested.checkout_url, requested.expires_at) == ("https://pay.example/s1", PAY_BY)


def test_a_capture_of_the_difference_is_the_exchanges_payment_in_the_ledger() -> None:
    settled = success()
    assert (settled.effect, settled.status, settled.refund) == (
        EXCHANGE,
        ExchangeStatus.SUCCEEDED,
        0,
    )
    assert settled.entry is not None and settled.event is not None
    assert (settled.entry.kind, settled.entry.purpose, settled.entry.attempt_id) == (
        "charge",
        "exchange",
        "pxc_1",
    )
    assert (settled.event.exchange_id, settled.event.amount.amount) == ("exc_1", 2_000)


def test_a_capture_already_recorded_changes_nothing() -> None:
    settled = success(charged=True)
    assert (settled.effect, settled.entry, settled.event) == ("already_applied", None, None)


def test_a_capture_after_the_exchange_was_cancelled_is_refunded_in_full_and_not_told() -> None:
    settled = success(replace(OPEN, status=ExchangeStatus.CANCELLED))
    assert settled.entry is not None
    assert (settled.effect, settled.entry.purpose, settled.event) == (
        "late_payment",
        "late_payment",
        None,
    )
    assert (settled.refund, settled.refund_reason, settled.status) == (
        2_000,
        "late_exchange_payment",
        None,
    )


@pytest.mark.parametrize(
    ("amount", "currency", "effect", "refund"),
    [(1_999, "CNY", "underpaid", 1_999), (2_000, "USD", "wrong_currency", 2_000)],
)
def test_less_than_the_difference_fails_the_charge_and_is_refunded(
    amount: int, currency: str, effect: str, refund: int
) -> None:
    settled = success(amount=amount, currency=currency)
    assert (settled.effect, settled.status, settled.event) == (effect, ExchangeStatus.FAILED, None)
    assert (settled.refund, settled.refund_reason) == (refund, f"exchange_{effect}")


def test_more_than_the_difference_pays_it_and_refunds_the_rest() -> None:
    settled = success(amount=2_500)
    assert (settled.effect, settled.status) == ("overpaid", ExchangeStatus.SUCCEEDED)
    assert (settled.refund, settled.refund_reason) == (500, "exchange_overpaid")


def test_only_an_open_session_fails() -> None:
    assert settle_exchange_failure(OPEN, "expired").status == ExchangeStatus.FAILED
    cancelled = replace(OPEN, status=ExchangeStatus.CANCELLED)
    assert settle_exchange_failure(cancelled, "expired").effect == "stale_failure"


CANCELLED = replace(OPEN, status=ExchangeStatus.CANCELLED)
CLOSED = replace(CANCELLED, closed_at=NOW + timedelta(hours=49))


@pytest.mark.parametrize(
    ("charge", "answer", "state"),
    [
        (OPEN, "succeeded", "final"),
        (OPEN, "failed", "final"),
        (OPEN, "pending", "pending"),  # the customer may still pay: asked again later
        (OPEN, "error", "pending"),
        (CANCELLED, "pending", "pending"),  # not closed yet (or closing given up): payable
        (CLOSED, "succeeded", "final"),
        (CLOSED, "pending", "final"),  # closed before it was asked, and nothing paid
        (CLOSED, "error", "pending"),  # nothing known: asked again
    ],
)
def test_reconciliation_stops_asking_once_nothing_more_can_come_of_a_session(
    charge: ExchangeCharge, answer: str, state: str
) -> None:
    assert provider_state_after(charge, answer) == state

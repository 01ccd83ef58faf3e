"""The payment rules: what a success means, when a retry is allowed, how much a refund pays."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from services.payment.domain import (
    AttemptStatus,
    Charge,
    PaymentState,
    Totals,
    classify_success,
    failure_counts,
    failure_message,
    payment_status,
    refund_backoff,
    refundable,
    retry_refusal,
)
from shared.contracts.events.common import PaymentMethod
from tests.unit.payment.states import NOW, open_card_payment

OPEN = open_card_payment(due_in=timedelta(days=3))
PAID = replace(OPEN, paid_attempt_id="pat_1")
CLOSED = replace(OPEN, ended="closed")
COD = replace(OPEN, method=PaymentMethod.CASH_ON_DELIVERY)


@pytest.mark.parametrize(
    ("payment", "charged", "expected"),
    [
        (OPEN, False, Charge.PAYMENT),
        (OPEN, True, Charge.ALREADY_APPLIED),
        (PAID, False, Charge.DUPLICATE),
        (PAID, True, Charge.ALREADY_APPLIED),
        (CLOSED, False, Charge.LATE),
        (replace(OPEN, ended="cancelled"), False, Charge.LATE),
    ],
)
def test_a_success_is_the_payment_only_once_and_only_while_the_order_is_open(
    payment: PaymentState, charged: bool, expected: Charge
) -> None:
    assert classify_success(payment, attempt_charged=charged) == expected


def test_a_failure_counts_only_for_a_live_attempt_of_an_open_unpaid_order() -> None:
    assert failure_counts(OPEN, AttemptStatus.OPEN)
    assert failure_counts(OPEN, AttemptStatus.FAILED), "a second try on the same page failed too"
    assert not failure_counts(OPEN, AttemptStatus.SUCCEEDED)
    assert not failure_counts(OPEN, AttemptStatus.SUPERSEDED)
    assert not failure_counts(PAID, AttemptStatus.OPEN)
    assert not failure_counts(CLOSED, AttemptStatus.OPEN)


def test_a_retry_is_allowed_only_for_an_unpaid_order_within_its_window() -> None:
    assert retry_refusal(OPEN, NOW) is None
    assert retry_refusal(PAID, NOW) == "already_paid"
    assert retry_refusal(CLOSED, NOW) == "order_closed"
    assert retry_refusal(OPEN, NOW + timedelta(days=3)) == "payment_window_over"
    cod = replace(OPEN, method=PaymentMethod.CASH_ON_DELIVERY, payment_due_at=None)
    assert retry_refusal(cod, NOW) == "cash_on_delivery"


@pytest.mark.parametrize(
    ("requested", "charged", "refunding", "pays"),
    [
        (3_000, 10_000, 0, 3_000),
        (9_000, 10_000, 3_000, 7_000),
        (100, 10_000, 10_000, 0),
        (10_000, 10_000, 0, 10_000),
    ],
)
def test_a_refund_never_pays_more_than_is_left_of_the_charge(
    requested: int, charged: int, refunding: int, pays: int
) -> None:
    assert refundable(requested, charged, refunding) == pays


def test_refund_retries_back_off_up_to_a_cap() -> None:
    delays = [refund_backoff(n, 5, 60).total_seconds() for n in range(1, 7)]
    assert delays == [5, 10, 20, 40, 60, 60]


@pytest.mark.parametrize(
    ("payment", "totals", "last", "status"),
    [
        (OPEN, Totals(), AttemptStatus.OPEN, "awaiting_payment"),
        (OPEN, Totals(), AttemptStatus.FAILED, "failed"),
        (PAID, Totals(10_000, 0), AttemptStatus.SUCCEEDED, "paid"),
        (PAID, Totals(10_000, 3_000), AttemptStatus.SUCCEEDED, "partially_refunded"),
        (PAID, Totals(10_000, 10_000), AttemptStatus.SUCCEEDED, "refunded"),
        (PAID, Totals(20_000, 10_000), AttemptStatus.SUCCEEDED, "paid"),
        (CLOSED, Totals(10_000, 10_000), AttemptStatus.SUCCEEDED, "expired"),
        (replace(OPEN, ended="cancelled"), Totals(), AttemptStatus.EXPIRED, "cancelled"),
        (replace(COD, ended="refused"), Totals(), AttemptStatus.EXPIRED, "not_charged"),
        (replace(OPEN, method=PaymentMethod.CASH_ON_DELIVERY), Totals(), None, "due_on_delivery"),
    ],
)
def test_the_status_a_customer_sees(
    payment: PaymentState, totals: Totals, last: AttemptStatus | None, status: str
) -> None:
    assert payment_status(payment, totals, last) == status


def test_failure_messages_say_what_happened_and_never_blame() -> None:
    assert "limit" in failure_message("bank_limit")
    assert failure_message("something_new").endswith("You can try again.")

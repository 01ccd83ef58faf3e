"""What a capture, a failure or the courier's cash settles, decided before anything is saved."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from services.payment.domain import (
    Approval,
    Attempt,
    AttemptStatus,
    LedgerEntry,
    PaymentState,
    Settlement,
    approval,
    settle_cash,
    settle_failure,
    settle_success,
)
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.payment import PaymentFailed, PaymentSucceeded
from tests.unit.payment.states import NOW, open_card_payment

OPEN = open_card_payment(due_in=timedelta(hours=1))
ATTEMPT = Attempt(
    "pat_1",
    "ord_1",
    1,
    PaymentMethod.CARD,
    "sandbox",
    "s1",
    None,
    None,
    AttemptStatus.OPEN,
    None,
    NOW,
)


def success(
    payment: PaymentState, amount: int, currency: str = "CNY", charged: bool = False
) -> Settlement:
    money = Money(amount=amount, currency=currency)
    return settle_success(
        payment, ATTEMPT, charged=charged, amount=money, reference="ch_1", paid_at=NOW, now=NOW
    )


def test_the_amount_due_pays_the_order_and_is_published_as_in_the_ledger() -> None:
    settled = success(OPEN, 10_000)
    assert (settled.effect, settled.status, settled.pays, settled.refund) == (
        "payment",
        AttemptStatus.SUCCEEDED,
        True,
        None,
    )
    assert settled.entry is not None and isinstance(settled.event, PaymentSucceeded)
    assert (settled.entry.amount, settled.entry.purpose) == (10_000, "payment")
    assert settled.event.provider_reference == settled.entry.provider_reference == "ch_1"


@pytest.mark.parametrize(
    ("payment", "amount", "currency", "effect", "pays", "refund", "event"),
    [
        (OPEN, 12_000, "CNY", "overpaid", True, 2_000, PaymentSucceeded),
        (OPEN, 9_000, "CNY", "underpaid", False, 9_000, PaymentFailed),
        (OPEN, 10_000, "USD", "wrong_currency", False, 10_000, PaymentFailed),
        (
            replace(OPEN, paid_attempt_id="pat_0"),
            10_000,
            "CNY",
            "duplicate_payment",
            False,
            10_000,
            PaymentSucceeded,
        ),
        (
            replace(OPEN, ended="closed"),
            10_000,
            "CNY",
            "late_payment",
            False,
            10_000,
            PaymentSucceeded,
        ),
    ],
)
def test_what_the_order_does_not_keep_is_refunded_under_what_went_wrong(
    payment: PaymentState,
    amount: int,
    currency: str,
    effect: str,
    pays: bool,
    refund: int,
    event: type,
) -> None:
    settled = success(payment, amount, currency)
    assert (settled.effect, settled.pays, settled.refund) == (effect, pays, refund)
    assert isinstance(settled.event, event)
    # an overpayment still pays: its charge is the order's payment, the difference refunded
    purpose = "payment" if pays else effect
    assert settled.entry is not None and settled.entry.purpose == purpose


def test_a_capture_already_recorded_changes_nothing() -> None:
    settled = success(OPEN, 10_000, charged=True)
    assert (settled.effect, settled.entry, settled.event, settled.refund) == (
        "already_applied",
        None,
        None,
        None,
    )


def test_a_failure_of_a_live_attempt_tells_the_customer_and_a_stale_one_nothing() -> None:
    failed = settle_failure(OPEN, ATTEMPT, "card_declined", NOW)
    assert (failed.effect, failed.status, failed.failure_reason) == (
        "failed",
        AttemptStatus.FAILED,
        "card_declined",
    )
    assert isinstance(failed.event, PaymentFailed) and failed.event.retry_allowed
    stale = settle_failure(replace(OPEN, paid_attempt_id="pat_0"), ATTEMPT, "card_declined", NOW)
    assert (stale.effect, stale.status, stale.event) == ("stale_failure", None, None)


def test_cash_pays_an_open_order_and_is_refunded_once_the_order_ended() -> None:
    cash = Money(amount=5_000, currency="CNY")
    paid = settle_cash(OPEN, ATTEMPT, cash, "shp_1", NOW, NOW)
    late = settle_cash(replace(OPEN, ended="cancelled"), ATTEMPT, cash, "shp_1", NOW, NOW)
    assert (paid.effect, paid.pays, paid.refund) == ("payment", True, None)
    assert (late.effect, late.pays, late.refund) == ("late_payment", False, 5_000)
    refused = settle_cash(replace(OPEN, ended="refused"), ATTEMPT, cash, "shp_1", NOW, NOW)
    assert (refused.effect, refused.pays, refused.refund) == ("late_payment", False, 5_000)


def charge(amount: int, currency: str = "CNY") -> LedgerEntry:
    return LedgerEntry(
        "led_1",
        "ord_1",
        "charge",
        "payment",
        amount,
        currency,
        "pat_1",
        None,
        "sandbox",
        "ch_1",
        NOW,
    )


@pytest.mark.parametrize(
    ("found", "refunding", "expected"),
    [
        (None, 0, Approval(refused="nothing_captured")),
        (charge(10_000, "USD"), 0, Approval(refused="currency_mismatch")),
        (charge(10_000), 10_000, Approval(refused="nothing_left_to_refund")),
        (charge(10_000), 7_000, Approval(amount=3_000, charge=charge(10_000))),
        (charge(10_000), 0, Approval(amount=4_000, charge=charge(10_000))),
    ],
)
def test_an_approval_pays_at_most_what_is_left_of_the_charge_in_its_currency(
    found: LedgerEntry | None, refunding: int, expected: Approval
) -> None:
    charges = [] if found is None else [(found, refunding)]
    assert approval(charges, Money(amount=4_000, currency="CNY")) == expected


def test_an_approval_draws_on_the_oldest_capture_with_money_left() -> None:
    order = charge(10_000)
    exchange = replace(charge(2_000), entry_id="led_2", purpose="exchange", attempt_id="pxc_1")
    requested = Money(amount=4_000, currency="CNY")
    assert approval([(order, 0), (exchange, 0)], requested).charge == order
    spent = approval([(order, 10_000), (exchange, 500)], requested)
    assert (spent.charge, spent.amount) == (exchange, 1_500), "what the exchange can take"
    assert approval([(order, 10_000), (exchange, 2_000)], requested) == Approval(
        refused="nothing_left_to_refund"
    )

"""Charges: what a provider's report, or the courier's cash, does to an order's payment.

Each rule returns a `Settlement`, everything that changes, which the steps save in one go.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from services.payment.domain.payments import failure_counts, failure_message, window_open
from services.payment.domain.records import (
    Attempt,
    AttemptStatus,
    LedgerEntry,
    PaymentState,
    new_id,
)
from shared.contracts.envelope import Event, Money
from shared.contracts.events.payment import PaymentFailed, PaymentSucceeded


class Charge(StrEnum):
    """What a provider's success means for the order."""

    PAYMENT = "payment"  # the order's one charge
    LATE = "late_payment"  # the order closed or was cancelled meanwhile: refund it
    DUPLICATE = "duplicate_payment"  # the order was already paid: refund it
    ALREADY_APPLIED = "already_applied"  # this attempt's charge is recorded already


class Capture(StrEnum):
    """How the money a provider captured compares with what the order owes."""

    EXACT = "exact"
    UNDERPAID = "underpaid"  # less than due: not paid, refunded, the customer may pay again
    OVERPAID = "overpaid"  # more than due: paid, and the difference refunded
    WRONG_CURRENCY = "wrong_currency"  # not the order's currency: like underpaid

    @property
    def pays(self) -> bool:
        return self in (Capture.EXACT, Capture.OVERPAID)


@dataclass(frozen=True)
class Settlement:
    """What one report does: the ledger entry, the attempt's new status (and why it failed),
    whether the order is now paid, the event that says so, and how much of the entry is
    refunded, under `effect` (which is also what the provider is answered)."""

    effect: str
    entry: LedgerEntry | None = None
    status: AttemptStatus | None = None
    failure_reason: str | None = None
    pays: bool = False
    event: Event | None = None
    refund: int | None = None


def classify_success(payment: PaymentState, attempt_charged: bool) -> Charge:
    if attempt_charged:
        return Charge.ALREADY_APPLIED
    if payment.paid:
        return Charge.DUPLICATE
    if payment.ended:
        return Charge.LATE
    return Charge.PAYMENT


def compare_capture(payment: PaymentState, amount: int, currency: str) -> Capture:
    if currency != payment.currency:
        return Capture.WRONG_CURRENCY
    if amount < payment.amount:
        return Capture.UNDERPAID
    return Capture.OVERPAID if amount > payment.amount else Capture.EXACT


def settle_success(
    payment: PaymentState,
    attempt: Attempt,
    *,
    charged: bool,
    amount: Money,
    reference: str,
    paid_at: datetime,
    now: datetime,
) -> Settlement:
    """A provider captured `amount` for `attempt` (`charged`: its charge is recorded)."""
    kind = classify_success(payment, attempt_charged=charged)
    if kind == Charge.ALREADY_APPLIED:
        return Settlement(kind.value)
    captured = _captured(attempt, kind, amount, reference, paid_at, now)
    if kind != Charge.PAYMENT:  # late or duplicate: published, then refunded in full
        return replace(captured, refund=amount.amount)
    capture = compare_capture(payment, amount.amount, amount.currency)
    if capture == Capture.EXACT:
        return captured
    if capture == Capture.OVERPAID:
        return replace(captured, effect=capture.value, refund=amount.amount - payment.amount)
    # less than due, or another currency: kept in the ledger under what went wrong and
    # refunded in full; the order stays unpaid and the customer may pay again
    entry = charge_entry(attempt, capture.value, amount, reference, now)
    failed = attempt_failed(payment, attempt, capture.value, now)
    return replace(failed, effect=capture.value, entry=entry, refund=entry.amount)


def settle_cash(
    payment: PaymentState,
    attempt: Attempt,
    cash: Money,
    reference: str,
    delivered_at: datetime,
    now: datetime,
) -> Settlement:
    """The courier collected `cash`: the order's payment, or a late one refunded in full."""
    kind = Charge.LATE if payment.ended else Charge.PAYMENT
    captured = _captured(attempt, kind, cash, reference, delivered_at, now)
    return replace(captured, refund=cash.amount) if kind == Charge.LATE else captured


def settle_failure(
    payment: PaymentState, attempt: Attempt, reason: str, now: datetime
) -> Settlement:
    """A provider reports `attempt` failed; only the live attempt of an open order counts."""
    if not failure_counts(payment, attempt.status):
        return Settlement("stale_failure")
    return attempt_failed(payment, attempt, reason, now)


def attempt_failed(
    payment: PaymentState, attempt: Attempt, reason: str, now: datetime
) -> Settlement:
    """The attempt failed: the customer is told why, and whether to pay again."""
    failed = PaymentFailed(
        attempt_id=attempt.attempt_id,
        method=attempt.method,
        reason=reason,
        message=failure_message(reason),
        retry_allowed=window_open(payment, now),
    )
    return Settlement("failed", status=AttemptStatus.FAILED, failure_reason=reason, event=failed)


def _captured(
    attempt: Attempt,
    kind: Charge,
    amount: Money,
    reference: str,
    paid_at: datetime,
    now: datetime,
) -> Settlement:
    """Money captured for `attempt`: the order's payment, or a late or duplicate charge.
    Every capture is published, so what others count as paid matches the ledger."""
    entry = charge_entry(attempt, kind.value, amount, reference, now)
    succeeded = PaymentSucceeded(
        attempt_id=entry.attempt_id,
        method=attempt.method,
        amount=amount,
        provider=entry.provider,
        provider_reference=entry.provider_reference,
        paid_at=paid_at,
    )
    pays = kind == Charge.PAYMENT
    return Settlement(kind.value, entry, AttemptStatus.SUCCEEDED, pays=pays, event=succeeded)


def charge_entry(
    attempt: Attempt, purpose: str, amount: Money, reference: str, now: datetime
) -> LedgerEntry:
    return LedgerEntry(
        entry_id=new_id("led"),
        order_id=attempt.order_id,
        kind="charge",
        purpose=purpose,
        amount=amount.amount,
        currency=amount.currency,
        attempt_id=attempt.attempt_id,
        refund_id=None,
        provider=attempt.provider,
        provider_reference=reference,
        recorded_at=now,
    )

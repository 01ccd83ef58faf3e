"""Exchange charges: what a replacement costing more than the units returned is charged.

An exchange's charge has a provider session of its own and its own record (not one of the
order's attempts): its capture is entered in the order's ledger (purpose `exchange`), so
later refunds of the order may draw on it, but it never pays the order, nor does any of
the order's attempts settle it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.payment.domain.records import LedgerEntry, new_id
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.payment import ExchangePaymentRequested, ExchangePaymentSucceeded

EXCHANGE = "exchange"  # the ledger purpose of an exchange's capture
LATE = "late_payment"  # a capture after the exchange was cancelled: refunded in full
# The reasons its refunds are paid under: not the order's own (`late_payment`,
# `overpaid`...), which the order counts against its payment; an exchange's capture never
# paid the order, so neither does its refund take from it.
REFUND_REASONS = {
    LATE: "late_exchange_payment",
    "underpaid": "exchange_underpaid",
    "wrong_currency": "exchange_wrong_currency",
    "overpaid": "exchange_overpaid",
}
# Methods with no provider session of their own to pay an exchange through: the exchange
# is paid online, through the method the settings name instead.
NO_SESSION_METHODS = frozenset({PaymentMethod.CASH_ON_DELIVERY, PaymentMethod.PAY_FOR_ME})


class ExchangeStatus(StrEnum):
    PENDING = "pending"  # its provider session is being opened, after the commit
    OPEN = "open"
    FAILED = "failed"  # the session could not be opened, or the provider ended it unpaid
    SUCCEEDED = "succeeded"
    CANCELLED = "cancelled"  # the exchange was cancelled: its session is closed


@dataclass(frozen=True)
class ExchangeCharge:
    exchange_id: str
    attempt_id: str
    order_id: str
    method: PaymentMethod
    provider: str
    amount: int
    currency: str
    pay_by: datetime | None
    session_id: str | None
    checkout_url: str | None
    status: ExchangeStatus
    failure_reason: str | None
    created_at: datetime
    closed_at: datetime | None = None  # when its session was closed at the provider

    @property
    def money(self) -> Money:
        return Money(amount=self.amount, currency=self.currency)


@dataclass(frozen=True)
class ExchangeSettlement:
    """What one provider report does to an exchange's charge: the ledger entry, its new
    status (and why it failed), the event, and how much of the entry is refunded and why,
    under `effect` (also what the provider is answered)."""

    effect: str
    entry: LedgerEntry | None = None
    status: ExchangeStatus | None = None
    failure_reason: str | None = None
    event: ExchangePaymentSucceeded | None = None
    refund: int = 0
    refund_reason: str | None = None


def session_method(order_method: PaymentMethod, fallback: PaymentMethod) -> PaymentMethod:
    """The method an exchange is paid with: the order's, unless it has no session to pay
    online (cash on delivery, pay-for-me), then `fallback`."""
    return fallback if order_method in NO_SESSION_METHODS else order_method


def new_exchange_charge(
    *,
    exchange_id: str,
    attempt_id: str,
    order_id: str,
    method: PaymentMethod,
    provider: str,
    difference: Money,
    pay_by: datetime | None,
    now: datetime,
) -> ExchangeCharge:
    return ExchangeCharge(
        exchange_id=exchange_id,
        attempt_id=attempt_id,
        order_id=order_id,
        method=method,
        provider=provider,
        amount=difference.amount,
        currency=difference.currency,
        pay_by=pay_by,
        session_id=None,
        checkout_url=None,
        status=ExchangeStatus.PENDING,
        failure_reason=None,
        created_at=now,
    )


def payment_requested(charge: ExchangeCharge, checkout_url: str | None) -> ExchangePaymentRequested:
    return ExchangePaymentRequested(
        exchange_id=charge.exchange_id,
        attempt_id=charge.attempt_id,
        amount=charge.money,
        checkout_url=checkout_url,
        expires_at=charge.pay_by,
    )


def settle_exchange_success(
    charge: ExchangeCharge,
    *,
    charged: bool,
    amount: Money,
    reference: str,
    paid_at: datetime,
    now: datetime,
) -> ExchangeSettlement:
    """A provider captured `amount` for the exchange's session (`charged`: recorded already)."""
    if charged:
        return ExchangeSettlement("already_applied")
    if charge.status == ExchangeStatus.CANCELLED:  # too late: kept in the ledger, refunded
        entry = _entry(charge, LATE, amount, reference, now)
        return ExchangeSettlement(
            LATE, entry, refund=amount.amount, refund_reason=REFUND_REASONS[LATE]
        )
    if amount.currency != charge.currency or amount.amount < charge.amount:
        why = "wrong_currency" if amount.currency != charge.currency else "underpaid"
        entry = _entry(charge, why, amount, reference, now)
        return ExchangeSettlement(
            why,
            entry,
            ExchangeStatus.FAILED,
            failure_reason=why,
            refund=amount.amount,
            refund_reason=REFUND_REASONS[why],
        )
    entry = _entry(charge, EXCHANGE, amount, reference, now)
    succeeded = ExchangePaymentSucceeded(
        exchange_id=charge.exchange_id,
        attempt_id=charge.attempt_id,
        amount=charge.money,
        provider=charge.provider,
        provider_reference=reference,
        paid_at=paid_at,
    )
    over = amount.amount - charge.amount
    return ExchangeSettlement(
        "overpaid" if over else EXCHANGE,
        entry,
        ExchangeStatus.SUCCEEDED,
        event=succeeded,
        refund=over,
        refund_reason=REFUND_REASONS["overpaid"] if over else None,
    )


def settle_exchange_failure(charge: ExchangeCharge, reason: str) -> ExchangeSettlement:
    """The provider ended the session unpaid (expired, closed): only an open one fails."""
    if charge.status not in (ExchangeStatus.PENDING, ExchangeStatus.OPEN):
        return ExchangeSettlement("stale_failure")
    return ExchangeSettlement("failed", status=ExchangeStatus.FAILED, failure_reason=reason)


def provider_state_after(charge: ExchangeCharge, answer: str) -> str:
    """What reconciliation records of the provider's `answer` about a charge, asked as
    `charge` was before the question: 'final' once the provider reported an end (or an
    error left nothing known: 'pending'), and for a charge whose session was closed before
    it was asked, 'final' on 'pending' too: a closed session can no longer be paid, so
    nothing more will come of it."""
    if answer in ("succeeded", "failed"):
        return "final"
    closed = charge.status == ExchangeStatus.CANCELLED and charge.closed_at is not None
    return "final" if closed and answer == "pending" else "pending"


def _entry(
    charge: ExchangeCharge, purpose: str, amount: Money, reference: str, now: datetime
) -> LedgerEntry:
    return LedgerEntry(
        entry_id=new_id("led"),
        order_id=charge.order_id,
        kind="charge",
        purpose=purpose,
        amount=amount.amount,
        currency=amount.currency,
        attempt_id=charge.attempt_id,
        refund_id=None,
        provider=charge.provider,
        provider_reference=reference,
        recorded_at=now,
    )

"""The payment service's business rules: pure functions and values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.contracts.events.common import PaymentMethod

UPFRONT = frozenset(
    {
        PaymentMethod.WALLET,
        PaymentMethod.ONLINE_BANKING,
        PaymentMethod.CARD,
        PaymentMethod.PAY_FOR_ME,
    }
)

FAILURE_MESSAGES = {
    "bank_limit": "The payment went over your bank's limit. Try another method or card.",
    "wrong_password": "The payment password was not accepted. You can try again.",
    "cancelled_by_customer": "The payment was cancelled. You can pay whenever you are ready.",
    "insufficient_funds": "There was not enough money for this payment. Try another method.",
    "card_declined": "The card was declined by its bank. Try another card or method.",
    "session_expired": "The payment page expired. You can open a new one.",
    "underpaid": "Less than the order's total was paid; it is being refunded. Please pay again.",
    "wrong_currency": "The payment was not in the order's currency; it is being refunded. "
    "Please pay again.",
}


class AttemptStatus(StrEnum):
    PENDING = "pending"  # its provider session is being opened, after the commit
    OPEN = "open"
    FAILED = "failed"
    SUCCEEDED = "succeeded"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"


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
class PaymentState:
    order_id: str
    method: PaymentMethod
    amount: int
    currency: str
    payment_due_at: datetime | None
    paid_attempt_id: str | None
    ended: str | None  # "closed" | "cancelled" | None while the order is open

    @property
    def paid(self) -> bool:
        return self.paid_attempt_id is not None


@dataclass(frozen=True)
class Totals:
    captured: int = 0
    refunded: int = 0

    @property
    def net(self) -> int:
        return self.captured - self.refunded


@dataclass(frozen=True)
class Attempt:
    attempt_id: str
    order_id: str
    number: int
    method: PaymentMethod
    provider: str
    session_id: str | None
    checkout_url: str | None
    pay_link: str | None
    status: AttemptStatus
    failure_reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class LedgerEntry:
    entry_id: str
    order_id: str
    kind: str  # "charge" | "refund"
    purpose: str  # a Charge value for charges, the refund's reason for refunds
    amount: int
    currency: str
    attempt_id: str
    refund_id: str | None
    provider: str
    provider_reference: str
    recorded_at: datetime


@dataclass(frozen=True)
class Refund:
    refund_id: str
    order_id: str
    refund_request_id: str | None
    charge_attempt_id: str | None
    reason: str
    requested_amount: int
    amount: int
    currency: str
    status: str  # "pending" | "paid" | "failed"
    attempts: int
    last_error: str | None


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


def failure_counts(payment: PaymentState, attempt_status: AttemptStatus) -> bool:
    """A failure matters only for the live attempt of an open, unpaid order."""
    live = attempt_status in (AttemptStatus.OPEN, AttemptStatus.FAILED)
    return live and not payment.paid and not payment.ended


def window_open(payment: PaymentState, now: datetime) -> bool:
    return payment.ended is None and (
        payment.payment_due_at is None or now < payment.payment_due_at
    )


def retry_refusal(payment: PaymentState, now: datetime) -> str | None:
    """Why a new attempt may not be opened now, or None when it may."""
    if payment.paid:
        return "already_paid"
    if payment.ended:
        return f"order_{payment.ended}"
    if payment.method == PaymentMethod.CASH_ON_DELIVERY:
        return "cash_on_delivery"
    if not window_open(payment, now):
        return "payment_window_over"
    return None


def failure_message(reason: str) -> str:
    return FAILURE_MESSAGES.get(reason, "The payment did not go through. You can try again.")


def refundable(requested: int, charged: int, already_refunding: int) -> int:
    """What an approved refund may pay: never more than is left of the charge."""
    return max(0, min(requested, charged - already_refunding))


def refund_backoff(attempts: int, base_seconds: float, max_seconds: float) -> timedelta:
    return timedelta(seconds=min(max_seconds, base_seconds * 2 ** max(0, attempts - 1)))


def payment_status(
    payment: PaymentState, totals: Totals, last_attempt: AttemptStatus | None
) -> str:
    """The one word a customer or the shop sees for the order's payment."""
    if payment.paid:
        if totals.net <= 0:
            return "refunded"
        return "partially_refunded" if totals.net < payment.amount else "paid"
    if payment.ended == "closed":
        return "expired"
    if payment.ended == "cancelled":
        return "cancelled"
    if payment.method == PaymentMethod.CASH_ON_DELIVERY:
        return "due_on_delivery"
    return "failed" if last_attempt == AttemptStatus.FAILED else "awaiting_payment"

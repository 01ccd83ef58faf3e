"""An order's payment: its window, its requests (attempts) and the word it is shown as."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.payment.domain.records import Attempt, AttemptStatus, PaymentState, Totals
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.payment import PaymentRequested

COURIER = "courier"  # who collects cash on delivery

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


@dataclass(frozen=True)
class Retry:
    """What a request to pay again came to: a new attempt, or why not (and the status)."""

    payment: PaymentState
    attempt: Attempt | None = None
    refusal: str | None = None
    status: str | None = None


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


def payment_status(
    payment: PaymentState, totals: Totals, last_attempt: AttemptStatus | None
) -> str:
    """The one word a customer or the shop sees for the order's payment."""
    if payment.paid:
        if totals.net <= 0:
            return "refunded"
        # against what was kept: a courier who collected short leaves it paid, not refunded
        kept = min(payment.amount, totals.captured)
        return "partially_refunded" if totals.net < kept else "paid"
    if payment.ended == "closed":
        return "expired"
    if payment.ended == "cancelled":
        return "cancelled"
    if payment.ended == "refused":
        return "not_charged"  # the parcel was refused or undeliverable: nothing collected
    if payment.method == PaymentMethod.CASH_ON_DELIVERY:
        return "due_on_delivery"
    return "failed" if last_attempt == AttemptStatus.FAILED else "awaiting_payment"


def new_attempt(
    payment: PaymentState,
    method: PaymentMethod,
    *,
    attempt_id: str,
    number: int,
    provider: str,
    now: datetime,
) -> Attempt:
    """A payment request: open at once for cash on delivery (the courier collects), pending
    until its provider session is open for the upfront methods."""
    cash = method == PaymentMethod.CASH_ON_DELIVERY
    return Attempt(
        attempt_id=attempt_id,
        order_id=payment.order_id,
        number=number,
        method=method,
        provider=COURIER if cash else provider,
        session_id=None,
        checkout_url=None,
        pay_link=None,
        status=AttemptStatus.OPEN if cash else AttemptStatus.PENDING,
        failure_reason=None,
        created_at=now,
    )


def payment_requested(
    attempt: Attempt, amount: int, currency: str, expires_at: datetime | None
) -> PaymentRequested:
    """The customer is told how to pay `attempt`."""
    return PaymentRequested(
        attempt_id=attempt.attempt_id,
        method=attempt.method,
        amount=Money(amount=amount, currency=currency),
        checkout_url=attempt.checkout_url,
        pay_link=attempt.pay_link,
        expires_at=expires_at,
    )

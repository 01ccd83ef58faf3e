"""Events published by the payment service on `payments.v1`, keyed by order id."""

from __future__ import annotations

from datetime import datetime

from shared.contracts.envelope import Event, Money
from shared.contracts.events.common import PaymentMethod


class PaymentRequested(Event):
    """What the customer needs to pay: a checkout URL, a pay-for-me link, or nothing (COD)."""

    TYPE = "PaymentRequested"

    attempt_id: str
    method: PaymentMethod
    amount: Money
    checkout_url: str | None = None
    pay_link: str | None = None
    expires_at: datetime | None = None


class PaymentSucceeded(Event):
    TYPE = "PaymentSucceeded"

    attempt_id: str
    method: PaymentMethod
    amount: Money
    provider: str
    provider_reference: str
    paid_at: datetime


class PaymentFailed(Event):
    TYPE = "PaymentFailed"

    attempt_id: str
    method: PaymentMethod
    reason: str
    message: str
    retry_allowed: bool


class RefundPaid(Event):
    TYPE = "RefundPaid"

    refund_id: str
    refund_request_id: str | None
    amount: Money
    reason: str
    paid_at: datetime


class RefundFailed(Event):
    TYPE = "RefundFailed"

    refund_id: str
    refund_request_id: str | None
    amount: Money
    reason: str
    will_retry: bool

"""Events published by the payment service on `payments.v1`, keyed by order id."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

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
    """Money captured for one attempt. Published for every capture, also one that came too
    late (the order ended) or a second one (the order was already paid): each of those is
    followed at once by its RefundPaid (`late_payment`, `duplicate_payment`)."""

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
    """A refund paid back to the customer.

    `refund_request_id` is null for automatic refunds: `late_payment` (a capture for
    an order already closed or cancelled) and `duplicate_payment` (a second capture
    for an order already paid); each refunds a capture published as PaymentSucceeded.
    `requested_amount` is set when the approval asked for more than was left to
    refund: `amount` is what was paid.
    """

    TYPE = "RefundPaid"

    refund_id: str
    refund_request_id: str | None
    amount: Money
    reason: str
    paid_at: datetime
    requested_amount: Money | None = None


class RefundFailed(Event):
    """A refund not paid: `will_retry` while the provider is retried, false when given up
    or refused (`nothing_left_to_refund`, `nothing_captured`, `currency_mismatch`)."""

    TYPE = "RefundFailed"

    refund_id: str
    refund_request_id: str | None
    amount: Money
    reason: str
    will_retry: bool


class CashCollectionMismatch(Event):
    """The courier collected another amount than the cash-on-delivery order owed (`short`,
    `over`, or in another currency: `wrong_currency`). The collected amount is recorded as
    the order's payment (the parcel is with the customer); operations settle the difference
    with the carrier or the customer. Published once per order."""

    TYPE = "CashCollectionMismatch"

    attempt_id: str
    shipment_id: str
    kind: Literal["short", "over", "wrong_currency"]
    due: Money
    collected: Money
    delivered_at: datetime


class ExchangePaymentRequested(Event):
    """What the customer pays for an exchange's replacement costing more than the units
    returned: `amount` through `checkout_url`, by `expires_at`."""

    TYPE = "ExchangePaymentRequested"

    exchange_id: str
    attempt_id: str
    amount: Money
    checkout_url: str | None = None
    expires_at: datetime | None = None


class ExchangePaymentSucceeded(Event):
    """The exchange's difference was captured. A capture after the exchange was cancelled
    is refunded at once (RefundPaid, reason `late_payment`)."""

    TYPE = "ExchangePaymentSucceeded"

    exchange_id: str
    attempt_id: str
    amount: Money
    provider: str
    provider_reference: str
    paid_at: datetime

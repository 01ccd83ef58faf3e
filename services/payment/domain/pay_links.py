"""Pay-for-me links: one short signed link per order that the customer shares with the
friend who pays, on this service, in front of the provider's page.

A provider's page (Stripe Checkout, Alipay's page pay) takes any payer who has its URL,
but that URL is long and its session ends (Stripe's after at most 24 hours, while the
order's window may be longer). The link stays the same for the order: it leads to the
live session, and when that one has ended while the order may still be paid, to a new
one, opened once per ended session however many friends open the link at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from services.payment.domain.payments import retry_refusal
from services.payment.domain.records import Attempt, AttemptStatus, PaymentState
from shared.contracts.events.common import PaymentMethod

PATH = "/v1/pay"
_MAC_BYTES = 12  # 96 bits: 16 characters in the link


def link_token(secret: str, order_id: str) -> str:
    """`<order id>.<mac>`: the MAC under a purpose of its own ("pay:"), so the link opens
    no other door that the same secret signs (an order access token is "order:")."""
    return f"{order_id}.{_mac(secret, order_id)}"


def token_order(secret: str, token: str) -> str | None:
    """The order a link token was made for, None for a token we did not sign."""
    order_id, _, mac = token.rpartition(".")
    if not order_id or not hmac.compare_digest(
        _mac(secret, order_id).encode(), mac.encode("utf-8", "surrogatepass")
    ):
        return None
    return order_id


def pay_link(base_url: str, secret: str, order_id: str) -> str:
    return f"{base_url.rstrip('/')}{PATH}/{link_token(secret, order_id)}"


def _mac(secret: str, order_id: str) -> str:
    message = f"pay:{order_id}".encode("utf-8", "surrogatepass")
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode()


@dataclass(frozen=True)
class Landing:
    """Where a link leads now: the live attempt's page, a new attempt to open (`reopen`,
    after the ended one named), or a refusal with its reason."""

    attempt: Attempt | None = None
    reopen_after: str | None = None
    refusal: str | None = None


LIVE = (AttemptStatus.PENDING, AttemptStatus.OPEN)


def landing(payment: PaymentState, latest: Attempt | None, now: datetime) -> Landing:
    """Where the order's pay-for-me link leads, given its latest payment request."""
    if payment.paid:
        return Landing(refusal="already_paid")
    if latest is None or latest.method != PaymentMethod.PAY_FOR_ME:
        return Landing(refusal="link_replaced")  # the customer chose to pay another way
    if latest.status in LIVE:
        return Landing(attempt=latest)
    if (why := retry_refusal(payment, now)) is not None:
        return Landing(refusal=why)
    return Landing(reopen_after=latest.attempt_id)

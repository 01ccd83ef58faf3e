"""The payment service's state records: what the repository loads and saves."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from shared.contracts.events.common import PaymentMethod

if TYPE_CHECKING:
    from services.payment.domain.exchanges import ExchangeCharge


def new_id(prefix: str) -> str:
    """An id for a record nothing else derives again (a ledger entry, a test's attempt)."""
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


class AttemptStatus(StrEnum):
    PENDING = "pending"  # its provider session is being opened, after the commit
    OPEN = "open"
    FAILED = "failed"
    SUCCEEDED = "succeeded"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"


@dataclass(frozen=True)
class PaymentState:
    order_id: str
    method: PaymentMethod
    amount: int
    currency: str
    payment_due_at: datetime | None
    paid_attempt_id: str | None
    ended: str | None  # "closed" | "cancelled" | "refused" | None while the order is open

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


@dataclass(frozen=True)
class Overview:
    """Everything payment knows of one order's money, for its HTTP view."""

    payment: PaymentState
    attempts: list[Attempt]
    entries: list[LedgerEntry]
    refunds: list[Refund]
    totals: Totals
    exchanges: list[ExchangeCharge] = field(default_factory=list)  # exchanges' charges

    @property
    def last_attempt(self) -> AttemptStatus | None:
        return self.attempts[-1].status if self.attempts else None

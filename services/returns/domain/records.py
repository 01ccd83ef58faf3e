"""The returns service's vocabulary and state records: what a request and an order are."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from shared.contracts.events.common import LineQuantity


class Reason(StrEnum):
    CHANGED_MIND = "changed_mind"
    NOT_RECEIVED = "not_received"
    LOST = "lost"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    QUALITY_PROBLEM = "quality_problem"
    PRICE_DROPPED = "price_dropped"


QUALITY_REASONS = frozenset({Reason.DAMAGED, Reason.WRONG_ITEM, Reason.QUALITY_PROBLEM})
NOT_ARRIVED_REASONS = frozenset({Reason.NOT_RECEIVED, Reason.LOST})


class Status(StrEnum):
    REQUESTED = "requested"
    RETURN_SHIPPED = "return_shipped"
    APPROVED = "approved"
    REFUNDED = "refunded"
    REJECTED = "rejected"
    REFUND_FAILED = "refund_failed"


OPEN_STATUSES = frozenset({Status.REQUESTED, Status.RETURN_SHIPPED, Status.APPROVED})
UNDECIDED = (Status.REQUESTED, Status.RETURN_SHIPPED)
Payer = Literal["customer", "shop"]


@dataclass
class Refused(Exception):
    """A request the rules do not allow; `kind` says how the edge reports it."""

    kind: Literal["not_found", "conflict", "unprocessable"]
    code: str
    message: str
    field: str | None = None
    state: str | None = None

    def __str__(self) -> str:
        return self.message


def invalid(code: str, message: str, field: str) -> Refused:
    """A request the rules refuse (422), naming the field at fault."""
    return Refused("unprocessable", code, message, field=field)


def conflict(code: str, message: str, state: str) -> Refused:
    return Refused("conflict", code, message, state=state)


@dataclass(frozen=True)
class Line:
    line_id: str
    sku: str
    quantity: int
    unit_price: int
    discount: int = 0  # the line's share of the order's discount

    def paid_for(self, quantity: int, already: int = 0) -> int:
        """What `quantity` units after the first `already` ones were paid: their price less
        their share of the line's discount, shared so the parts add up to the line exactly."""
        share = self.discount * (already + quantity) // self.quantity
        return self.unit_price * quantity - (share - self.discount * already // self.quantity)


@dataclass(frozen=True)
class OrderView:
    """What returns knows of an order; any fact may still be missing."""

    order_id: str
    currency: str | None = None
    lines: dict[str, Line] = field(default_factory=dict)
    paid: int = 0
    shipping_fee: int = 0
    paid_at: datetime | None = None
    promised_ship_date: date | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    ended: str | None = None
    auto_refund_reason: str | None = None


@dataclass(frozen=True)
class Holdings:
    """What refunds and other requests already hold on an order."""

    committed: int = 0  # refunded plus the amounts of open requests
    open_lines: frozenset[str] = frozenset()
    used_quantity: dict[str, int] = field(default_factory=dict)  # per line, live returns
    # per line, the price difference live price_dropped requests took, and of it what live
    # refunds of units left out (the returned units' share): the rest is on the units held
    price_difference: dict[str, int] = field(default_factory=dict)
    price_difference_deducted: dict[str, int] = field(default_factory=dict)


ReturnPostage = Literal["not_reimbursed", "deducted"]


@dataclass(frozen=True)
class Policy:
    return_window: timedelta
    not_received_after: timedelta
    # a no-reason return's postage is the customer's: they pay it and are not reimbursed,
    # or the shop's label is deducted from the refund (`return_postage`, minor units)
    return_postage_mode: ReturnPostage = "not_reimbursed"
    return_postage: int = 0
    # a price drop this long after the payment is refunded by rule (price protection)
    price_protection: timedelta = timedelta(days=7)
    # an exchange for a quality problem ships its replacement at once, before the return
    exchange_quality_ships_at_once: bool = True
    # a dearer replacement's difference is paid within this time, else the exchange ends
    exchange_pay: timedelta = timedelta(hours=24)
    # the units of an accepted exchange are sent back within this time, else it ends
    exchange_return: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class RefundRequest:
    id: str
    order_id: str
    flow: str
    reason: str
    status: str
    amount: int
    currency: str
    lines: tuple[LineQuantity, ...]
    return_shipping_paid_by: str | None
    evidence_urls: tuple[str, ...]
    requested_by: str
    rule_due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    return_courier: str | None = None  # the return parcel, once the customer sends it
    return_tracking_number: str | None = None
    rejection_reason: str | None = None


@dataclass(frozen=True)
class Audit:
    """One step of a request's audit trail: who did what, when."""

    actor: str
    action: str
    at: datetime
    details: dict[str, Any]

"""The order's state machine: pure rules, no I/O; `now` and event times are passed in.

An order has a `stage` that only moves forward (placed → paid → shipped →
delivered → completed) or ends (cancelled, closed, refused), plus the money it has seen
(paid, refunded) and its refund requests. The status a customer sees is derived
from those. Each rule returns an `Outcome`: the events to publish, the timeline
entries to add (each keyed by the fact it records, so a repeated fact adds
nothing) and the timers to set or cancel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from shared.contracts.envelope import Event, Money
from shared.contracts.events.common import Address, Contact, Locale, OrderLine, PaymentMethod
from shared.contracts.events.order import (
    OrderCancellationRequested,
    OrderCancelled,
    OrderClosed,
    OrderCompleted,
)

PAYMENT_WINDOW = "payment_window"
AUTO_CONFIRM = "auto_confirm"


class Stage(StrEnum):
    PLACED = "placed"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    CLOSED = "closed"
    REFUSED = "refused"  # the parcel was refused or undeliverable and went back to the shop


PROGRESS = (Stage.PLACED, Stage.PAID, Stage.SHIPPED, Stage.DELIVERED, Stage.COMPLETED)
ENDED = frozenset({Stage.CANCELLED, Stage.CLOSED, Stage.REFUSED})
STATUSES = (*(s.value for s in Stage), "cancellation_requested", "partially_refunded", "refunded")

# A refund request only moves forward: a late "approved" never undoes "paid".
REFUND_RANK = {"requested": 0, "approved": 1, "failed": 2, "rejected": 3, "paid": 3}
OPEN_REFUND = frozenset({"requested", "approved", "failed"})


class NotAllowed(Exception):
    """The order's current state does not allow the action."""

    def __init__(self, status: str, message: str, code: str = "invalid_state") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Entry:
    """One step on the customer's timeline."""

    key: str
    at: datetime
    kind: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    events: list[Event] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    timers: dict[str, datetime | None] = field(default_factory=dict)  # None cancels

    def __iadd__(self, other: Outcome) -> Outcome:
        self.events += other.events
        self.entries += other.entries
        self.timers.update(other.timers)
        return self


@dataclass
class Order:
    order_id: str
    customer_id: str | None
    stage: Stage
    currency: str
    total: int
    payment_method: PaymentMethod
    locale: Locale
    time_zone: str
    lines: tuple[OrderLine, ...]
    contact: Contact
    address: Address
    placed_at: datetime
    payment_due_at: datetime | None
    gift_message: str | None = None
    payment_status: str = "pending"
    paid_amount: int = 0
    paid_at: datetime | None = None
    refunded_amount: int = 0
    cancellation_requested: bool = False
    ended_reason: str | None = None
    promised_ship_date: date | None = None
    payment: dict[str, Any] = field(default_factory=dict)
    shipment: dict[str, Any] | None = None  # the parcel older readers show (parcels.latest)
    parcels: dict[str, dict[str, Any]] = field(default_factory=dict)  # by shipment id
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)
    shipping_fee: int = 0  # total = goods - discount + shipping_fee
    discount: int = 0
    coupon_code: str | None = None
    courier: str | None = None  # chosen at checkout (None: logistics picks)
    courier_fee: int = 0  # the part of shipping_fee the chosen courier adds
    backorder: dict[str, Any] | None = None  # units short at placement (domain.backorder)

    @property
    def goods(self) -> int:
        return sum(line.unit_price.amount * line.quantity for line in self.lines)

    @property
    def cash_on_delivery(self) -> bool:
        return self.payment_method is PaymentMethod.CASH_ON_DELIVERY

    @property
    def fully_refunded(self) -> bool:
        return self.paid_amount > 0 and self.refunded_amount >= self.paid_amount

    @property
    def refund_open(self) -> bool:
        return any(r["status"] in OPEN_REFUND for r in self.refunds.values())

    @property
    def status(self) -> str:
        if self.stage in ENDED:
            return self.stage.value
        if self.fully_refunded:
            return "refunded"
        if self.refunded_amount > 0:
            return "partially_refunded"
        if self.cancellation_requested and self.stage is Stage.PAID:
            return "cancellation_requested"  # a parcel that left anyway shows as it travels
        return self.stage.value

    @property
    def payment_state(self) -> str:
        if self.paid_amount == 0:
            if self.stage is Stage.CLOSED:
                return "expired"
            if self.stage is Stage.CANCELLED:
                return "cancelled"
            if self.stage is Stage.REFUSED:
                return "not_charged"
            if self.payment_status == "failed":
                return "failed"
            return "pay_on_delivery" if self.cash_on_delivery else "pending"
        if self.fully_refunded:
            return "refunded"
        return "partially_refunded" if self.refunded_amount > 0 else "paid"

    def money(self, amount: int) -> Money:
        return Money(amount=amount, currency=self.currency)

    def advance(self, to: Stage) -> bool:
        """Moves the stage forward to `to`; never backwards, never out of an ended order."""
        if self.stage in ENDED or PROGRESS.index(self.stage) >= PROGRESS.index(to):
            return False
        self.stage = to
        return True

    def first_time(self, fact: str) -> bool:
        """True the first time a fact (a payment attempt, a refund) is applied to the order."""
        if fact in self.applied:
            return False
        self.applied.append(fact)
        return True


def end(order: Order, stage: Stage, reason: str, at: datetime, event: Event) -> Outcome:
    order.stage = stage
    order.ended_reason = reason
    return Outcome(
        events=[event],
        entries=[Entry(stage.value, at, stage.value, {"reason": reason})],
        timers={PAYMENT_WINDOW: None, AUTO_CONFIRM: None},
    )


def cancel(order: Order, reason: str, now: datetime) -> Outcome:
    """The customer cancels: at once while unpaid, through a refund while paid and unshipped."""
    if order.stage is Stage.PLACED and order.paid_amount == 0:
        event = OrderCancelled(reason="customer_request", was_paid=False)
        return end(order, Stage.CANCELLED, "customer_request", now, event)
    if order.stage is Stage.PAID and not order.cancellation_requested:
        order.cancellation_requested = True
        return Outcome(
            events=[OrderCancellationRequested(reason=reason, paid=order.money(order.paid_amount))],
            entries=[Entry("cancellation_requested", now, "cancellation_requested")],
        )
    raise NotAllowed(order.status, f"an order that is {order.status} can no longer be cancelled")


def confirm_receipt(order: Order, now: datetime, review_url: str | None) -> Outcome:
    """The customer confirms receipt: the order is completed. Confirming an order already
    completed (a second click, or the auto-confirmation came first) changes nothing and
    tells nothing again."""
    if order.stage is Stage.COMPLETED and not order.fully_refunded:
        return Outcome()
    if order.stage not in (Stage.SHIPPED, Stage.DELIVERED) or order.fully_refunded:
        raise NotAllowed(order.status, f"an order that is {order.status} cannot be confirmed")
    if order.refund_open:
        raise NotAllowed(order.status, "a refund request is still open", code="refund_open")
    return complete(order, "customer", now, review_url)


def complete(
    order: Order, by: Literal["customer", "auto"], now: datetime, review_url: str | None
) -> Outcome:
    order.stage = Stage.COMPLETED
    return Outcome(
        events=[OrderCompleted(confirmed_by=by, review_url=review_url)],
        entries=[Entry("completed", now, "completed", {"confirmed_by": by})],
        timers={AUTO_CONFIRM: None},
    )


def payment_window_expired(order: Order, now: datetime) -> Outcome:
    if order.stage is not Stage.PLACED or order.paid_amount > 0 or order.cash_on_delivery:
        return Outcome()
    return end(order, Stage.CLOSED, "payment_window_expired", now, OrderClosed())


def auto_confirm_due(
    order: Order, now: datetime, hold_until: datetime, review_url: str | None
) -> Outcome:
    """Completes a delivered order; while a refund is open, waits until `hold_until`."""
    if order.stage is not Stage.DELIVERED or order.fully_refunded:
        return Outcome()
    if order.refund_open:
        return Outcome(timers={AUTO_CONFIRM: hold_until})
    return complete(order, "auto", now, review_url)

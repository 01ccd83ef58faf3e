"""Exchanges: units of a delivered line swapped for another variant of the same product.
Pure: what a new exchange gets, what its replacement costs more or less, and the refunds
it opens through the refund machinery.

Within the no-reason window after delivery, or for a quality problem at any time, a
customer may exchange units of a line for another SKU. Logistics reserves the replacement
and prices it; the difference with what was paid for the units returned (after their
share of the discount) is charged before the replacement ships, or refunded once the units
are back. The replacement ships once the units are received, or at once for a quality
problem when the shop chose so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from services.returns.domain.eligibility import Decision, refundable, span
from services.returns.domain.price_difference import deduction
from services.returns.domain.records import (
    QUALITY_REASONS,
    Holdings,
    OrderView,
    Payer,
    Policy,
    Reason,
    conflict,
    invalid,
)
from shared.contracts.events.common import ExchangeItem, ExchangeShips, LineQuantity
from shared.contracts.events.returns import Actor, RefundFlow

Settlement = Literal["charge", "refund", "none"]
DIFFERENCE_REASON = "exchange_difference"  # the refund of a cheaper replacement
CANCELLED_REASON = "exchange_cancelled"  # the refund of units returned for nothing
# A parcel that never came, or a price difference, is a refund: nothing to send back.
NOT_EXCHANGED = frozenset({Reason.NOT_RECEIVED, Reason.LOST, Reason.PRICE_DROPPED})


class ExchangeStatus(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    RELEASED = "released"
    SHIPPED = "shipped"
    DELIVERED = "delivered"  # the replacement's parcel reached the customer: final
    CANCELLED = "cancelled"


OPEN_EXCHANGES = frozenset(
    {ExchangeStatus.REQUESTED, ExchangeStatus.ACCEPTED, ExchangeStatus.RELEASED}
)
"""An exchange in these states holds its line: no other request or exchange on it."""
LIVE_EXCHANGES = OPEN_EXCHANGES | {ExchangeStatus.SHIPPED, ExchangeStatus.DELIVERED}
"""An exchange in these states takes its units: they cannot be refunded or exchanged again."""


@dataclass(frozen=True)
class ExchangeAsk:
    line_id: str
    quantity: int
    replacement_sku: str
    reason: Reason


@dataclass(frozen=True)
class ExchangeDecision:
    """What a new exchange gets: the units it returns, what they were paid and who pays
    their postage."""

    line: LineQuantity
    reason: str
    replacement_sku: str
    returned_value: int
    currency: str
    return_shipping_paid_by: Payer
    # of a price difference refunded on the line, the share the units returned carry away
    price_difference_deducted: int = 0


@dataclass(frozen=True)
class Exchange:
    id: str
    order_id: str
    reason: str
    status: str
    line_id: str
    sku: str
    quantity: int
    returned_value: int
    currency: str
    replacement_sku: str
    return_shipping_paid_by: str
    requested_by: str
    created_at: datetime
    updated_at: datetime
    replacement: ExchangeItem | None = None
    warehouse: str | None = None
    difference: int | None = None  # > 0 charged, < 0 refunded
    settlement: str | None = None
    ships: str | None = None
    pay_by: datetime | None = None
    paid_at: datetime | None = None
    paid_amount: int | None = None
    return_courier: str | None = None
    return_tracking_number: str | None = None
    return_shipped_at: datetime | None = None
    return_received_at: datetime | None = None
    released_at: datetime | None = None
    shipment: dict[str, str] | None = None
    delivered_at: datetime | None = None  # the replacement's parcel delivered
    outcome_reason: str | None = None
    outcome_message: str | None = None
    refund_request_id: str | None = None
    price_difference_deducted: int = 0  # left out of returned_value (ExchangeDecision)

    @property
    def line(self) -> LineQuantity:
        return LineQuantity(line_id=self.line_id, sku=self.sku, quantity=self.quantity)


def decide_exchange(
    order: OrderView | None, ask: ExchangeAsk, held: Holdings, policy: Policy, now: datetime
) -> ExchangeDecision:
    """What a customer's exchange gets, or Refused naming the field at fault."""
    order = refundable(order)
    assert order.currency is not None
    if order.delivered_at is None:
        message = "an exchange can be asked for once the order is delivered"
        raise conflict("not_delivered", message, "shipped" if order.shipped_at else "paid")
    if ask.reason in NOT_EXCHANGED:
        message = (
            f"{ask.reason} is not a reason to exchange goods; ask for a refund instead, or "
            "give changed_mind, damaged, wrong_item or quality_problem"
        )
        raise invalid("reason_not_for_exchange", message, "reason")
    closes = order.delivered_at + policy.return_window
    if now > closes and ask.reason not in QUALITY_REASONS:
        message = (
            f"the {span(policy.return_window)} no-reason exchange window closed at "
            f"{closes:%Y-%m-%d %H:%M} UTC; after it only quality problems "
            "(damaged, wrong_item, quality_problem) can be exchanged"
        )
        raise invalid("return_window_closed", message, "reason")
    line = order.lines.get(ask.line_id)
    if line is None:
        raise invalid("unknown_line", f"line {ask.line_id} is not a line of this order", "line_id")
    if ask.replacement_sku == line.sku:
        message = f"the replacement must be another variant than the line's own {line.sku}"
        raise invalid("same_variant", message, "replacement_sku")
    if line.line_id in held.open_lines:
        message = f"line {line.line_id} already has an open refund request or exchange"
        raise conflict("line_has_open_request", message, "open")
    used = held.used_quantity.get(line.line_id, 0)
    if ask.quantity > line.quantity - used:
        message = f"only {max(line.quantity - used, 0)} of line {line.line_id} can be exchanged"
        raise invalid("over_quantity", message, "quantity")
    share = deduction(line, held, ask.quantity)
    return ExchangeDecision(
        line=LineQuantity(line_id=line.line_id, sku=line.sku, quantity=ask.quantity),
        reason=ask.reason,
        replacement_sku=ask.replacement_sku,
        returned_value=line.paid_for(ask.quantity, used) - share,
        currency=order.currency,
        return_shipping_paid_by=payer(ask.reason),
        price_difference_deducted=share,
    )


def payer(reason: str) -> Payer:
    """The return's postage: the shop's for a quality problem, otherwise the customer's."""
    return "shop" if reason in QUALITY_REASONS else "customer"


def difference(exchange: Exchange, replacement: ExchangeItem) -> int:
    """What the replacement costs more (> 0) or less (< 0) than the units returned."""
    return replacement.unit_price.amount * exchange.quantity - exchange.returned_value


def settlement(diff: int) -> Settlement:
    return "charge" if diff > 0 else "refund" if diff < 0 else "none"


def ships(reason: str, policy: Policy) -> ExchangeShips:
    """When the replacement leaves: at once for a quality problem (the shop's choice,
    `exchange_quality_ships_at_once`), otherwise once the units are received."""
    at_once = reason in QUALITY_REASONS and policy.exchange_quality_ships_at_once
    return "at_once" if at_once else "on_return"


def may_release(exchange: Exchange) -> bool:
    """Accepted, paid if it is charged, and the units back unless it ships at once."""
    paid = exchange.settlement != "charge" or exchange.paid_at is not None
    back = exchange.ships == "at_once" or exchange.return_received_at is not None
    return exchange.status == ExchangeStatus.ACCEPTED and paid and back


def difference_refund(order: OrderView, held: Holdings, exchange: Exchange) -> Decision | None:
    """The refund of a cheaper replacement's difference, approved at once by the system,
    never more than is left of the payment; no lines (the units went back in exchange).
    None when nothing is owed or left."""
    owed = -(exchange.difference or 0)
    return _refund(order, DIFFERENCE_REASON, (), min(owed, order.paid - held.committed))


def returned_units_refund(order: OrderView, held: Holdings, exchange: Exchange) -> Decision | None:
    """The refund of units received back for an exchange that was cancelled (its
    difference unpaid): what they were paid, never more than is left of the payment."""
    amount = min(exchange.returned_value, order.paid - held.committed)
    share = exchange.price_difference_deducted
    deducted = {exchange.line_id: share} if share else {}
    return _refund(order, CANCELLED_REASON, (exchange.line,), amount, deducted)


def _refund(
    order: OrderView,
    reason: str,
    lines: tuple[LineQuantity, ...],
    amount: int,
    deducted: dict[str, int] | None = None,
) -> Decision | None:
    if amount <= 0 or order.currency is None:
        return None
    system: Actor = "system"
    return Decision(
        RefundFlow.NO_RETURN, reason, lines, amount, order.currency, None, system,
        deducted=deducted or {},
    )  # fmt: skip

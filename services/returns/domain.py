"""The returns service's business rules: pure functions and values, no I/O.

Three flows, chosen by where the order is: paid, not shipped (`before_shipping`,
approved once logistics confirms the shipment stopped; when the parcel had already left,
the request becomes one with a return); not arrived, or a price difference (`no_return`,
by rule or operations); delivered (`with_return`, approved when the goods come back). A
refund never exceeds what was paid minus what was refunded or is already asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal

from shared.contracts.events.common import LineQuantity
from shared.contracts.events.returns import Actor, RefundFlow


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


@dataclass(frozen=True)
class OrderView:
    """What returns knows of an order; any fact may still be missing."""

    order_id: str
    currency: str | None = None
    lines: dict[str, Line] = field(default_factory=dict)
    paid: int = 0
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


@dataclass(frozen=True)
class Policy:
    return_window: timedelta
    not_received_after: timedelta


@dataclass(frozen=True)
class Ask:
    reason: Reason
    lines: tuple[tuple[str, int], ...] | None  # None: the whole order
    amount: int | None = None
    currency: str | None = None  # the amount's


@dataclass(frozen=True)
class Decision:
    flow: RefundFlow
    reason: str
    lines: tuple[LineQuantity, ...]
    amount: int
    currency: str
    return_shipping_paid_by: Payer | None
    approve_as: Actor | None
    rule_due_at: datetime | None = None


def decide(
    order: OrderView | None, ask: Ask, held: Holdings, policy: Policy, now: datetime
) -> Decision:
    """The flow, lines, amount and immediate approval of a customer's request, or Refused."""
    order = _refundable(order)
    assert order.currency is not None
    flow, approve_as, due = _flow(order, ask.reason, policy, now)
    lines, amount = _lines_and_amount(order, ask, held)
    if flow is RefundFlow.BEFORE_SHIPPING and ask.lines is not None:
        whole = dict(_whole_order(order, held, False))
        if {ln.line_id: ln.quantity for ln in lines} != whole:
            message = (
                "before shipping, a refund cancels the whole order and stops its shipment: "
                "ask without lines, or for single items once they are delivered"
            )
            raise invalid("whole_order_only", message, "lines")
    available = order.paid - held.committed
    if amount <= 0 or amount > available:
        message = (
            f"{max(amount, 0)} {order.currency} asked but only {max(available, 0)} of the "
            f"{order.paid} paid can still be refunded"
        )
        raise invalid("over_refund", message, "amount" if ask.amount is not None else "lines")
    payer: Payer = "shop" if ask.reason in QUALITY_REASONS else "customer"
    payer_if_return = payer if flow is RefundFlow.WITH_RETURN else None
    return Decision(
        flow, ask.reason, lines, amount, order.currency, payer_if_return, approve_as, due
    )


def cancellation_refund(order: OrderView, held: Holdings, reason: str) -> Decision | None:
    """The automatic flow-1 refund of a paid order cancelled before shipping, if money is left."""
    amount = order.paid - held.committed
    if amount <= 0 or order.currency is None:
        return None
    lines = tuple(
        LineQuantity(line_id=line.line_id, sku=line.sku, quantity=left)
        for line in order.lines.values()
        if line.line_id not in held.open_lines
        and (left := _left(line, held, price_difference=False)) > 0
    )
    return Decision(
        RefundFlow.BEFORE_SHIPPING, reason, lines, amount, order.currency, None, "system"
    )


def after_dispatch(reason: str) -> tuple[RefundFlow, Payer]:
    """A refund before shipping whose parcel had already left: the goods come back first
    (refused at the door or sent back), postage as for any return."""
    payer: Payer = "shop" if reason in QUALITY_REASONS else "customer"
    return RefundFlow.WITH_RETURN, payer


def approver(requested_by: str) -> Actor:
    """Who approves a refund before shipping once its shipment stopped: the system for the
    refunds it opened itself (cancelled paid orders), the rule for a customer's request."""
    return "system" if requested_by == "system" else "rule"


def rule_due_at(order: OrderView, policy: Policy) -> datetime | None:
    """When a not-arrived parcel is refunded by rule: some time after the later of the
    promised ship date (start of day, UTC) and the actual shipping."""
    anchors = [order.shipped_at] if order.shipped_at else []
    if order.promised_ship_date:
        anchors.append(datetime.combine(order.promised_ship_date, time(0), tzinfo=UTC))
    return max(anchors) + policy.not_received_after if anchors else None


def rule_allows(order: OrderView, policy: Policy, now: datetime) -> bool:
    due = rule_due_at(order, policy)
    return order.delivered_at is None and due is not None and now >= due


def require_status(current: str, allowed: tuple[Status, ...], action: str) -> None:
    if current not in allowed:
        raise conflict("wrong_state", f"cannot {action} a request that is {current}", current)


def require_return(flow: str, status: str, action: str) -> None:
    if flow != RefundFlow.WITH_RETURN:
        raise conflict("no_return_needed", f"cannot {action}: this refund needs no return", status)


def _refundable(order: OrderView | None) -> OrderView:
    if order is None or not order.lines or order.currency is None:
        raise Refused(
            "not_found", "order_unknown", "returns does not know this order yet; try again shortly"
        )
    if order.ended == "closed":
        raise conflict("order_closed", "the order was closed unpaid", "closed")
    if order.ended:
        message = "the order is cancelled; its refund is made automatically"
        raise conflict("order_cancelled", message, order.ended)
    if order.paid <= 0:
        raise conflict("order_not_paid", "the order is not paid", "unpaid")
    return order


def _flow(
    order: OrderView, reason: Reason, policy: Policy, now: datetime
) -> tuple[RefundFlow, Actor | None, datetime | None]:
    if reason is Reason.PRICE_DROPPED:
        return RefundFlow.NO_RETURN, None, None
    if order.delivered_at is not None:
        if reason in NOT_ARRIVED_REASONS:
            return RefundFlow.NO_RETURN, None, None
        closes = order.delivered_at + policy.return_window
        if now > closes and reason not in QUALITY_REASONS:
            message = (
                f"the {_span(policy.return_window)} no-reason return window closed at "
                f"{closes:%Y-%m-%d %H:%M} UTC; after it only quality problems "
                "(damaged, wrong_item, quality_problem) can be returned"
            )
            raise invalid("return_window_closed", message, "reason")
        return RefundFlow.WITH_RETURN, None, None
    if order.shipped_at is not None:
        if reason not in NOT_ARRIVED_REASONS:
            message = (
                "the parcel is on its way: a return can be asked for once it is delivered; "
                "until then only not_received, lost or price_dropped apply"
            )
            raise invalid("parcel_in_transit", message, "reason")
        due = rule_due_at(order, policy)
        if rule_allows(order, policy, now):
            return RefundFlow.NO_RETURN, "rule", None
        return RefundFlow.NO_RETURN, None, due
    return RefundFlow.BEFORE_SHIPPING, "rule", None


def _lines_and_amount(
    order: OrderView, ask: Ask, held: Holdings
) -> tuple[tuple[LineQuantity, ...], int]:
    price_difference = ask.reason is Reason.PRICE_DROPPED
    if price_difference and ask.amount is None:
        raise invalid("amount_required", "a price difference needs an amount", "amount")
    if not price_difference and ask.amount is not None:
        message = "an amount is only given for price_dropped; lines set the amount"
        raise invalid("amount_not_allowed", message, "amount")
    if ask.currency is not None and ask.currency != order.currency:
        raise invalid("wrong_currency", f"the order is paid in {order.currency}", "amount.currency")
    wanted = ask.lines if ask.lines is not None else _whole_order(order, held, price_difference)
    lines, value = _check_lines(order, wanted, held, price_difference)
    if price_difference:
        assert ask.amount is not None
        if ask.lines is not None and ask.amount > value:
            message = f"a price difference of {ask.amount} exceeds the {value} these lines cost"
            raise invalid("over_refund", message, "amount")
        return lines, ask.amount
    if ask.lines is None:
        return lines, order.paid - held.committed
    return lines, value


def _whole_order(
    order: OrderView, held: Holdings, price_difference: bool
) -> tuple[tuple[str, int], ...]:
    left = {line_id: _left(line, held, price_difference) for line_id, line in order.lines.items()}
    return tuple((line_id, n) for line_id, n in left.items() if n > 0)


def _left(line: Line, held: Holdings, price_difference: bool) -> int:
    """How much of a line a request may still name (a price difference takes no items)."""
    return line.quantity - (0 if price_difference else held.used_quantity.get(line.line_id, 0))


def _check_lines(
    order: OrderView, wanted: tuple[tuple[str, int], ...], held: Holdings, price_difference: bool
) -> tuple[tuple[LineQuantity, ...], int]:
    lines, value, seen = [], 0, set()
    for i, (line_id, quantity) in enumerate(wanted):
        line = order.lines.get(line_id)
        if line is None or line_id in seen:
            what = "is not a line of this order" if line is None else "is named twice"
            raise invalid("unknown_line", f"line {line_id} {what}", f"lines[{i}].line_id")
        seen.add(line_id)
        if line_id in held.open_lines:
            message = f"line {line_id} already has an open refund request"
            raise conflict("line_has_open_request", message, "open")
        left = _left(line, held, price_difference)
        if quantity > left:
            message = f"only {left} of line {line_id} can still be refunded"
            raise invalid("over_refund", message, f"lines[{i}].quantity")
        lines.append(LineQuantity(line_id=line_id, sku=line.sku, quantity=quantity))
        value += line.unit_price * quantity
    return tuple(lines), value


def _span(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400}-day"
    return f"{seconds}-second"

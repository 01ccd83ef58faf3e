"""What a new refund request gets: its flow, its lines and amount, and whether it is
approved at once. A refund never exceeds what was paid minus what was refunded or is
already asked for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from services.returns.domain.price_difference import (
    Price,
    ceiling,
    deduction,
    difference,
    held_units,
    line_difference,
    split,
)
from services.returns.domain.records import (
    NOT_ARRIVED_REASONS,
    QUALITY_REASONS,
    Holdings,
    OrderView,
    Payer,
    Policy,
    Reason,
    Refused,
    conflict,
    invalid,
)
from shared.contracts.envelope import Money
from shared.contracts.events.common import LineQuantity
from shared.contracts.events.returns import Actor, RefundFlow


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
    # per line, the price difference a price_dropped request takes of `amount`
    price_difference: dict[str, int] = field(default_factory=dict)
    # per line, the share of the price difference already taken that a refund of units
    # leaves out (their value was refunded already, as the difference)
    deducted: dict[str, int] = field(default_factory=dict)


def decide(
    order: OrderView | None,
    ask: Ask,
    held: Holdings,
    policy: Policy,
    now: datetime,
    prices: dict[str, Price] | None = None,
) -> Decision:
    """The flow, lines, amount and immediate approval of a customer's request, or Refused.
    A price drop asked without an amount is reckoned from `prices` (each SKU's current
    price) and refunded by rule when the rule is met."""
    order = refundable(order)
    assert order.currency is not None
    flow, approve_as, due = _flow(order, ask.reason, policy, now)
    taken: dict[str, int] = {}
    deducted: dict[str, int] = {}
    if ask.reason is Reason.PRICE_DROPPED and ask.amount is None:
        wanted = ask.lines if ask.lines is not None else _whole_order(order, held)
        lines, _ = _check_lines(order, wanted, held, True)
        owed = difference(order, wanted, prices or {}, policy, now, held)
        amount, approve_as = owed.amount, ("rule" if owed.by_rule else None)
        taken = {line_id: part for line_id, part in owed.lines.items() if part}
    elif ask.reason is Reason.PRICE_DROPPED:
        lines, amount, taken = _price_difference_by_hand(order, ask, held, prices or {})
    else:
        lines, amount, deducted = _lines_and_amount(order, ask, held, flow)
    if flow is RefundFlow.BEFORE_SHIPPING and ask.lines is not None:
        whole = dict(_whole_order(order, held))
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
    if payer_if_return == "customer" and policy.return_postage_mode == "deducted":
        amount -= policy.return_postage
        if amount <= 0:
            message = f"the return postage of {policy.return_postage} is more than the refund"
            raise invalid("over_refund", message, "lines")
    return Decision(
        flow, ask.reason, lines, amount, order.currency, payer_if_return, approve_as, due, taken,
        deducted,
    )  # fmt: skip


def cancellation_refund(order: OrderView, held: Holdings, reason: str) -> Decision | None:
    """The automatic flow-1 refund of a paid order cancelled before shipping, if money is left."""
    amount = order.paid - held.committed
    if amount <= 0 or order.currency is None:
        return None
    lines = tuple(
        LineQuantity(line_id=line.line_id, sku=line.sku, quantity=left)
        for line in order.lines.values()
        if line.line_id not in held.open_lines and (left := held_units(line, held)) > 0
    )
    deducted = _deductions(order, held, lines)
    return Decision(
        RefundFlow.BEFORE_SHIPPING, reason, lines, amount, order.currency, None, "system",
        deducted=deducted,
    )  # fmt: skip


def courier_fee_refund(order: OrderView, held: Holdings, fee: Money) -> Decision | None:
    """The automatic refund of the surcharge paid for a courier chosen at checkout that did
    not carry the parcel: the fee, never more than is left of the payment; no lines (the
    goods still ship). None when nothing is left or the fee is in another currency."""
    amount = min(fee.amount, order.paid - held.committed)
    if amount <= 0 or order.currency != fee.currency:
        return None
    return Decision(
        RefundFlow.NO_RETURN, "courier_substituted", (), amount, fee.currency, None, "system"
    )


def backorder_refund(
    order: OrderView, held: Holdings, dropped: tuple[LineQuantity, ...]
) -> Decision | None:
    """The automatic refund of the units a backorder dropped (the customer, or the
    deadline's default, chose to ship what was there): what they cost after their share of
    the discount, the last units of each line, never more than is left of the payment.
    No postage: the order still ships. None for an order unpaid, ended, or when nothing
    is left."""
    if order.paid <= 0 or order.currency is None or order.ended:
        return None
    lines, value = [], 0
    for short in dropped:
        line = order.lines.get(short.line_id)
        if line is None:
            continue
        used = held.used_quantity.get(line.line_id, 0)
        quantity = min(short.quantity, line.quantity - used)
        if quantity <= 0:
            continue
        lines.append(LineQuantity(line_id=line.line_id, sku=line.sku, quantity=quantity))
        value += line.paid_for(quantity, line.quantity - quantity)
    deducted = _deductions(order, held, lines)
    amount = min(value - sum(deducted.values()), order.paid - held.committed)
    if amount <= 0:
        return None
    return Decision(
        RefundFlow.NO_RETURN, "stock_shortage", tuple(lines), amount, order.currency, None,
        "system", deducted=deducted,
    )  # fmt: skip


def returned_parcel_refund(order: OrderView, held: Holdings) -> Decision | None:
    """The automatic refund of a paid order whose parcel was refused at the door (or was
    undeliverable) and is back with the shop: what the goods still unrefunded cost after
    their share of the discount, never more than is left of the payment. Postage is not
    refunded: the parcel went out and came back for the customer's refusal. None for an
    order unpaid (cash on delivery owes nothing), ended, or delivered."""
    if order.paid <= 0 or order.currency is None or order.ended or order.delivered_at:
        return None
    lines, value = [], 0
    for line in order.lines.values():
        left = held_units(line, held)
        if line.line_id in held.open_lines or left <= 0:
            continue
        lines.append(LineQuantity(line_id=line.line_id, sku=line.sku, quantity=left))
        value += line.paid_for(left, held.used_quantity.get(line.line_id, 0))
    deducted = _deductions(order, held, lines)
    amount = min(value - sum(deducted.values()), order.paid - held.committed)
    if amount <= 0:
        return None
    return Decision(
        RefundFlow.NO_RETURN, "refused_at_delivery", tuple(lines), amount, order.currency,
        None, "system", deducted=deducted,
    )  # fmt: skip


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


def refundable(order: OrderView | None) -> OrderView:
    """The order, known and paid and not ended, or the refusal that says which it is not."""
    if order is None or not order.lines or order.currency is None:
        raise Refused(
            "not_found", "order_unknown", "returns does not know this order yet; try again shortly"
        )
    if order.ended == "closed":
        raise conflict("order_closed", "the order was closed unpaid", "closed")
    if order.ended == "refused":
        message = "the parcel was refused or could not be delivered; nothing was charged"
        raise conflict("order_refused", message, "refused")
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
                f"the {span(policy.return_window)} no-reason return window closed at "
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


def _price_difference_by_hand(
    order: OrderView, ask: Ask, held: Holdings, prices: dict[str, Price]
) -> tuple[tuple[LineQuantity, ...], int, dict[str, int]]:
    """A price difference given with an amount (operations' judgement): never more than is
    left of each line's payment, shared over the lines as `price_difference.split` says."""
    assert ask.amount is not None and order.currency is not None
    _same_currency(order, ask)
    wanted = ask.lines if ask.lines is not None else _whole_order(order, held)
    lines, room = _check_lines(order, wanted, held, True)
    if ask.amount <= 0 or ask.amount > room:
        message = (
            f"a price difference of {max(ask.amount, 0)} {order.currency} asked but these "
            f"lines can still be refunded only {room}"
        )
        raise invalid("over_refund", message, "amount")
    caps, reckoned = {}, {}
    for ln in lines:
        line = order.lines[ln.line_id]
        caps[ln.line_id] = ceiling(line, ln.quantity, held)
        price = prices.get(line.sku)
        reckoned[ln.line_id] = line_difference(line, ln.quantity, price, order.currency, held)
    parts = split(ask.amount, caps, reckoned)
    return lines, ask.amount, {line_id: part for line_id, part in parts.items() if part}


def _same_currency(order: OrderView, ask: Ask) -> None:
    if ask.currency is not None and ask.currency != order.currency:
        raise invalid("wrong_currency", f"the order is paid in {order.currency}", "amount.currency")


def _lines_and_amount(
    order: OrderView, ask: Ask, held: Holdings, flow: RefundFlow
) -> tuple[tuple[LineQuantity, ...], int, dict[str, int]]:
    """The lines and amount of a refund of units, and per line the share of a price
    difference already refunded that their value leaves out."""
    if ask.amount is not None:
        message = "an amount is only given for price_dropped; lines set the amount"
        raise invalid("amount_not_allowed", message, "amount")
    _same_currency(order, ask)
    wanted = ask.lines if ask.lines is not None else _whole_order(order, held)
    lines, value = _check_lines(order, wanted, held, False)
    deducted = _deductions(order, held, lines)
    value -= sum(deducted.values())
    if flow is RefundFlow.BEFORE_SHIPPING:  # nothing left: the whole payment comes back
        return lines, order.paid - held.committed, deducted
    if ask.lines is not None:
        return lines, value, deducted
    if held.committed == 0 and postage_refunded(ask.reason):
        value += order.shipping_fee  # the whole order, for the shop's fault
    return lines, min(value, order.paid - held.committed), deducted


def _deductions(
    order: OrderView, held: Holdings, lines: tuple[LineQuantity, ...] | list[LineQuantity]
) -> dict[str, int]:
    """Per line refunded, the share of the price difference resting on the units held that
    the units refunded carry away: their value came back partly as that difference."""
    shares = {ln.line_id: deduction(order.lines[ln.line_id], held, ln.quantity) for ln in lines}
    return {line_id: share for line_id, share in shares.items() if share}


def postage_refunded(reason: Reason) -> bool:
    """Postage comes back with the whole order only when the reason is the shop's (a
    quality problem, a parcel that never arrived); before shipping it was never spent."""
    return reason in QUALITY_REASONS or reason in NOT_ARRIVED_REASONS


def _whole_order(order: OrderView, held: Holdings) -> tuple[tuple[str, int], ...]:
    """Every line's units the customer still holds (a price difference takes no units, but
    is owed only on those held)."""
    left = {line_id: held_units(line, held) for line_id, line in order.lines.items()}
    return tuple((line_id, n) for line_id, n in left.items() if n > 0)


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
            message = f"line {line_id} already has an open refund request or exchange"
            raise conflict("line_has_open_request", message, "open")
        left = held_units(line, held)
        if quantity > left:
            message = f"only {left} of line {line_id} can still be refunded"
            raise invalid("over_refund", message, f"lines[{i}].quantity")
        lines.append(LineQuantity(line_id=line_id, sku=line.sku, quantity=quantity))
        if price_difference:  # the most a price difference may still take on them
            value += ceiling(line, quantity, held)
        else:
            value += line.paid_for(quantity, held.used_quantity.get(line_id, 0))
    return tuple(lines), value


def span(window: timedelta) -> str:
    """A window as people read it: "7-day" (or seconds when not whole days)."""
    seconds = int(window.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400}-day"
    return f"{seconds}-second"

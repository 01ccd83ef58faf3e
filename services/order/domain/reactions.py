"""How the order reacts to what payment, logistics and returns tell it. Pure.

Every reaction is safe to repeat and to receive late: facts are applied once
(by their own ids), the stage only moves forward, an ended order stays ended.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from services.order.domain import parcels
from services.order.domain.order import (
    AUTO_CONFIRM,
    ENDED,
    PAYMENT_WINDOW,
    REFUND_RANK,
    Entry,
    Order,
    Outcome,
    Stage,
    end,
)
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.order import OrderCancelled, OrderPaid, OrderRefused


def payment_requested(order: Order, instructions: dict[str, Any], at: datetime) -> Outcome:
    """Keeps the latest way to pay (checkout URL, pay-for-me link) to show on the order."""
    if order.stage is not Stage.PLACED or order.paid_amount > 0:
        return Outcome()
    order.payment = instructions
    if order.payment_status == "failed":
        order.payment_status = "pending"
    if order.cash_on_delivery:
        return Outcome()
    key = f"payment_requested:{instructions['attempt_id']}"
    return Outcome(entries=[Entry(key, at, "payment_requested", {"method": order.payment_method})])


def paid(order: Order, amount: Money, method: PaymentMethod, at: datetime, fact: str) -> Outcome:
    """A payment was captured. An ended order stays ended: the payment service refunds it."""
    if not order.first_time(fact):
        return Outcome()
    order.paid_amount += amount.amount
    details = {"amount": amount.amount, "currency": amount.currency, "method": method}
    if order.stage in ENDED:
        return Outcome(entries=[Entry(fact, at, "late_payment", details)])
    first = order.payment_status != "paid"
    order.payment_status = "paid"
    order.paid_at = order.paid_at or at
    order.advance(Stage.PAID)
    outcome = Outcome(entries=[Entry(fact, at, "paid", details)], timers={PAYMENT_WINDOW: None})
    if first:
        outcome.events.append(OrderPaid(amount=amount, payment_method=method, paid_at=at))
    return outcome


def payment_failed(
    order: Order, message: str, retry_allowed: bool, at: datetime, fact: str
) -> Outcome:
    if order.stage is not Stage.PLACED or order.paid_amount > 0:
        return Outcome()
    order.payment_status = "failed"
    details = {"message": message, "retry_allowed": retry_allowed}
    outcome = Outcome(entries=[Entry(fact, at, "payment_failed", details)])
    if not retry_allowed:
        event = OrderCancelled(reason="payment_failed", was_paid=False)
        outcome += end(order, Stage.CANCELLED, "payment_failed", at, event)
    return outcome


def stock_shortage(order: Order, short: list[dict[str, Any]], at: datetime) -> Outcome:
    """Stock ran out for an order not yet shipped: it is cancelled (and refunded if paid)."""
    if order.stage not in (Stage.PLACED, Stage.PAID):
        return Outcome()
    was_paid = order.paid_amount > 0
    event = OrderCancelled(reason="stock_shortage", was_paid=was_paid)
    outcome = end(order, Stage.CANCELLED, "stock_shortage", at, event)
    details = {"reason": "stock_shortage", "lines": short}
    outcome.entries = [Entry("cancelled", at, "cancelled", details)]
    return outcome


def shipment_moved(order: Order, to: Stage, shipment: dict[str, Any], entry: Entry) -> Outcome:
    """A parcel's step (`shipment` names it): kept with that parcel (domain.parcels); the
    stage moves forward to `to` if it is behind: the first parcel to ship ships the order."""
    parcels.moved(order, shipment["shipment_id"], shipment, entry.at)
    order.advance(to)
    return Outcome(entries=[entry])


def delivered(
    order: Order, shipment: dict[str, Any], entry: Entry, confirm_after: timedelta
) -> Outcome:
    """A parcel arrived (at `entry.at`). The order is delivered once all its parcels are
    (domain.parcels): then, unless it moved past delivered, it confirms itself
    `confirm_after` the last delivery if the customer does not first."""
    facts = {**shipment, "delivered_at": shipment.get("delivered_at") or entry.at.isoformat()}
    outcome = shipment_moved(order, Stage.SHIPPED, facts, entry)
    outcome += _all_delivered(order, confirm_after)
    return outcome


def _all_delivered(order: Order, confirm_after: timedelta) -> Outcome:
    """Delivered once every parcel is settled and one arrived. The timer is armed when the
    order becomes delivered, and only then: a parcel told again arms nothing twice."""
    last = parcels.last_delivered_at(order)
    if last is None or not parcels.all_delivered(order) or not order.advance(Stage.DELIVERED):
        return Outcome()
    return Outcome(timers={AUTO_CONFIRM: last + confirm_after})


Refusal = Literal["refused", "undeliverable"]


def refused(order: Order, reason: Refusal, entry: Entry, confirm_after: timedelta) -> Outcome:
    """The parcel (named in `entry`) was refused at the door or could not be delivered
    (`reason`), and goes back to the shop. A shipped cash-on-delivery order (logistics keeps
    it one parcel) owes nothing and ends `refused`; a prepaid order records it on the parcel
    (the customer asks for the refund as for any parcel that never arrived), which then no
    longer holds the order's delivery back: the others delivered, the order is. A repeat,
    or news of a parcel already delivered, changes nothing."""
    shipment_id = entry.details["shipment_id"]
    parcel = order.parcels.get(shipment_id, {})
    if order.stage is not Stage.SHIPPED or parcel.get("delivered_at") or parcel.get("refused"):
        return Outcome()
    parcels.moved(order, shipment_id, {"refused": reason}, entry.at)  # no longer in transit
    if not order.cash_on_delivery:
        outcome = Outcome(entries=[entry])
        outcome += _all_delivered(order, confirm_after)
        return outcome
    event = OrderRefused(reason=reason, was_paid=order.paid_amount > 0)
    outcome = end(order, Stage.REFUSED, reason, entry.at, event)
    outcome.entries = [Entry(Stage.REFUSED.value, entry.at, Stage.REFUSED.value, entry.details)]
    return outcome


def returned_to_shop(order: Order, entry: Entry, confirm_after: timedelta) -> Outcome:
    """A parcel is back at the shop: turned back, even where its refusal was not told (or
    not yet), so it no longer holds the order's delivery back. A parcel delivered stays
    delivered; the entry is added however the order stands."""
    shipment_id = entry.details["shipment_id"]
    outcome = Outcome(entries=[entry])
    if order.stage in ENDED or order.parcels.get(shipment_id, {}).get("delivered_at"):
        return outcome
    parcels.moved(order, shipment_id, {"returned_at": entry.at.isoformat()}, entry.at)
    if order.stage is Stage.SHIPPED:
        outcome += _all_delivered(order, confirm_after)
    return outcome


def refund_requested(
    order: Order, request_id: str, flow: str, at: datetime, details: dict[str, Any]
) -> Outcome:
    """A refund was requested, or its flow changed: the parcel left before it stopped, so
    the customer returns it (`refund_converted`)."""
    known = order.refunds.get(request_id, {}).get("flow")
    outcome = refund_step(order, request_id, "requested", at, "refund_requested", details)
    if known is not None and known != flow:
        order.refunds[request_id]["flow"] = flow
        key = f"refund_converted:{request_id}"
        outcome.entries = [Entry(key, at, "refund_converted", details)]
    return outcome


def refund_step(
    order: Order, request_id: str, status: str, at: datetime, kind: str, details: dict[str, Any]
) -> Outcome:
    """A refund request moved (requested, approved, rejected, failed); never backwards."""
    refund = order.refunds.setdefault(
        request_id, {"status": status, "amount": None, "reason": None, "flow": None}
    )
    if REFUND_RANK[status] >= REFUND_RANK[refund["status"]]:
        refund["status"] = status
    for name in ("amount", "reason", "flow"):
        if details.get(name) is not None and refund.get(name) is None:
            refund[name] = details[name]
    refund["updated_at"] = at.isoformat()
    return Outcome(entries=[Entry(f"{kind}:{request_id}", at, kind, details)])


# Refunds of money the order owed nothing for: a second capture for an order already paid,
# or what a capture took beyond the total. The order counts as paid what it owed.
SURPLUS_REFUNDS = frozenset({"duplicate_payment", "overpaid"})
# Refunds of a capture that never paid the order (too little, or another currency), and
# of an exchange's capture (its price difference), which the order never counts as paid.
UNCOUNTED_REFUNDS = frozenset(
    {
        "underpaid",
        "wrong_currency",
        "late_exchange_payment",
        "exchange_underpaid",
        "exchange_wrong_currency",
        "exchange_overpaid",
    }
)


def refund_paid(
    order: Order, refund_id: str, request_id: str | None, amount: Money, reason: str, at: datetime
) -> Outcome:
    if not order.first_time(f"refund_paid:{refund_id}"):
        return Outcome()
    if reason in SURPLUS_REFUNDS:
        order.paid_amount -= amount.amount  # paid more than owed: the extra went back
    elif reason not in UNCOUNTED_REFUNDS:
        order.refunded_amount += amount.amount
    details = {"amount": amount.amount, "currency": amount.currency, "reason": reason}
    step = refund_step(order, request_id or refund_id, "paid", at, "refund_paid", details)
    step.entries = [Entry(f"refund_paid:{refund_id}", at, "refund_paid", details)]
    return step


def stock_reserved(order: Order, promised: date, at: datetime) -> Outcome:
    if order.stage in ENDED:
        return Outcome()
    order.promised_ship_date = order.promised_ship_date or promised
    details = {"promised_ship_date": promised.isoformat()}
    return Outcome(entries=[Entry("stock_reserved", at, "stock_reserved", details)])


def ship_promised(
    order: Order, promised: date, at: datetime, plan: list[dict[str, Any]]
) -> Outcome:
    """Logistics set the promise it keeps (judged at payment): the order shows that date,
    and keeps the parcels it will ship as (`plan`; none: one parcel, as before parcels were
    told)."""
    parcels.planned(order, plan)
    if order.stage not in (Stage.PLACED, Stage.PAID) or order.promised_ship_date == promised:
        return Outcome()
    order.promised_ship_date = promised
    details = {"promised_ship_date": promised.isoformat()}
    return Outcome(entries=[Entry(f"ship_promised:{promised}", at, "ship_promised", details)])


def delayed(order: Order, reason: str, new_date: date, at: datetime) -> Outcome:
    """The promise cannot be kept: the customer is told the new date."""
    details = {"reason": reason, "new_expected_date": new_date.isoformat()}
    entry = Entry(f"delayed:{reason}:{new_date}", at, "delayed", details)
    return _late(order, reason == "not_shipped_by_promise", new_date, entry)


def delay_announced(order: Order, stage: str, new_date: date, entry: Entry) -> Outcome:
    """Operations announced a delay that covers the parcel, before its date passed. Still
    `waiting` in the warehouse, the new date is the day it ships, as a ShipmentDelayed
    `not_shipped_by_promise` tells it; `on_its_way`, the day it arrives, a date the order
    does not keep (as for `no_checkpoint`): only the timeline says it."""
    return _late(order, stage == "waiting", new_date, entry)


def _late(order: Order, ships_later: bool, new_date: date, entry: Entry) -> Outcome:
    """The parcel is late (`ships_later`: `new_date` is its new ship date). A delivered
    parcel, or an order that ended, is no longer late."""
    if order.stage in ENDED or order.stage in (Stage.DELIVERED, Stage.COMPLETED):
        return Outcome()
    if ships_later:
        order.promised_ship_date = new_date
    return Outcome(entries=[entry])


def noted(order: Order, key: str, at: datetime, kind: str, details: dict[str, Any]) -> Outcome:
    """A step the customer should see that changes nothing else."""
    return Outcome(entries=[Entry(key, at, kind, details)])

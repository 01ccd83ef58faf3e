"""What the returns service does with each incoming event and each due timer.

`HANDLERS` routes event types to handlers; `TIMERS` routes timer kinds. Order facts
are upserted in whatever order they arrive (topics are not ordered with each other).
"""

from __future__ import annotations

from collections.abc import Mapping

from services.returns import repository as repo
from services.returns import workflow
from services.returns.domain import Status, rule_allows
from shared.consumer import Handlers, Incoming
from shared.contracts.events import logistics as lg
from shared.contracts.events import order as od
from shared.contracts.events import payment as pm
from shared.contracts.events.logistics import (
    ShipmentAlreadyDispatched,
    ShipmentDelivered,
    ShipmentShipped,
    ShipmentStopped,
    StockReserved,
)
from shared.contracts.events.order import (
    OrderCancellationRequested,
    OrderCancelled,
    OrderClosed,
    OrderPaid,
    OrderPlaced,
)
from shared.contracts.events.payment import RefundFailed, RefundPaid
from shared.logging import get_logger
from shared.timer_poller import TimerHandler
from shared.timers import Timer
from shared.unit import Unit

log = get_logger(__name__)


async def on_order_placed(unit: Unit, msg: Incoming[OrderPlaced]) -> None:
    event = msg.payload
    lines = [line.model_dump(mode="json") for line in event.lines]
    await repo.record_order_facts(
        unit.conn,
        msg.order_id,
        currency=event.total.currency,
        total=event.total.amount,
        lines=lines,
    )


async def on_order_paid(unit: Unit, msg: Incoming[OrderPaid]) -> None:
    amount = msg.payload.amount
    await repo.record_order_facts(
        unit.conn, msg.order_id, currency=amount.currency, paid_amount=amount.amount
    )
    order = await repo.load_order(unit.conn, msg.order_id)
    if order is not None and order.auto_refund_reason:
        await workflow.refund_cancelled_order(unit, msg.order_id, order.auto_refund_reason)


async def on_order_cancellation_requested(
    unit: Unit, msg: Incoming[OrderCancellationRequested]
) -> None:
    paid = msg.payload.paid
    await repo.record_order_facts(
        unit.conn,
        msg.order_id,
        currency=paid.currency,
        paid_amount=paid.amount,
        ended="cancellation_requested",
    )
    await workflow.refund_cancelled_order(unit, msg.order_id, "customer_cancelled")


async def on_order_cancelled(unit: Unit, msg: Incoming[OrderCancelled]) -> None:
    await repo.record_order_facts(unit.conn, msg.order_id, ended="cancelled")
    if msg.payload.was_paid and msg.payload.reason != "refunded_before_shipping":
        await workflow.refund_cancelled_order(unit, msg.order_id, msg.payload.reason)


async def on_order_closed(unit: Unit, msg: Incoming[OrderClosed]) -> None:
    await repo.record_order_facts(unit.conn, msg.order_id, ended="closed")


async def on_stock_reserved(unit: Unit, msg: Incoming[StockReserved]) -> None:
    await repo.record_order_facts(
        unit.conn, msg.order_id, promised_ship_date=msg.payload.promised_ship_date
    )


async def on_shipment_shipped(unit: Unit, msg: Incoming[ShipmentShipped]) -> None:
    await repo.record_order_facts(unit.conn, msg.order_id, shipped_at=msg.payload.shipped_at)


async def on_shipment_delivered(unit: Unit, msg: Incoming[ShipmentDelivered]) -> None:
    """The order's parcel arrived, or a return parcel came back to the shop."""
    event = msg.payload
    returned = await repo.find_return(unit.conn, msg.order_id, event.tracking_number)
    if returned is None:
        cash = event.cash_collected.amount if event.cash_collected else None
        await repo.record_order_facts(
            unit.conn, msg.order_id, delivered_at=event.delivered_at, paid_amount=cash
        )
    elif returned.status in (Status.REQUESTED, Status.RETURN_SHIPPED):
        await workflow.receive_return(unit, returned, actor="system")


async def on_shipment_stopped(unit: Unit, msg: Incoming[ShipmentStopped]) -> None:
    request = await repo.get_request(unit.conn, msg.payload.refund_request_id, lock=True)
    if request is not None:
        await workflow.shipment_stopped(unit, request, msg.payload)


async def on_shipment_already_dispatched(
    unit: Unit, msg: Incoming[ShipmentAlreadyDispatched]
) -> None:
    request = await repo.get_request(unit.conn, msg.payload.refund_request_id, lock=True)
    if request is not None:
        await workflow.shipment_left(unit, request, msg.payload)


async def on_refund_paid(unit: Unit, msg: Incoming[RefundPaid]) -> None:
    event = msg.payload
    if event.refund_request_id is None:
        return  # a late payment refunded by payment itself: never part of the paid amount
    fresh = await repo.record_refund(unit.conn, msg.order_id, event)
    request = await repo.get_request(unit.conn, event.refund_request_id, lock=True)
    if not fresh or request is None:
        return
    details = {"refund_id": event.refund_id, "amount": event.amount.amount}
    await repo.add_step(
        unit.conn, request.id, actor="system", action="refunded", at=unit.now, details=details
    )
    if request.status in (Status.APPROVED, Status.REFUND_FAILED):  # money back is money back
        await repo.update_request(unit.conn, request.id, status=Status.REFUNDED, now=unit.now)


async def on_refund_failed(unit: Unit, msg: Incoming[RefundFailed]) -> None:
    event = msg.payload
    if event.refund_request_id is None:
        return
    request = await repo.get_request(unit.conn, event.refund_request_id, lock=True)
    if request is None:
        return
    details = {"refund_id": event.refund_id, "reason": event.reason, "will_retry": event.will_retry}
    await repo.add_step(
        unit.conn, request.id, actor="system", action="refund_failed", at=unit.now, details=details
    )
    if not event.will_retry and request.status == Status.APPROVED:
        await repo.update_request(unit.conn, request.id, status=Status.REFUND_FAILED, now=unit.now)


async def on_not_received_rule(unit: Unit, timer: Timer) -> None:
    """The moment a not-arrived parcel may be refunded by rule; otherwise operations decide."""
    request = await repo.get_request(unit.conn, timer.key, lock=True)
    if request is None or request.status != Status.REQUESTED:
        return
    order = await repo.load_order(unit.conn, request.order_id)
    now = max(unit.now, timer.due_at)  # the timer is due by the database's clock
    if order is not None and rule_allows(order, workflow.policy_of(unit), now):
        await workflow.approve(unit, request, actor="rule")
        return
    why = "the parcel was delivered" if order and order.delivered_at else "not due yet"
    await repo.add_step(
        unit.conn,
        request.id,
        actor="rule",
        action="rule_not_applied",
        at=unit.now,
        details={"why": why},
    )


HANDLERS: Handlers = {
    od.OrderPlaced: on_order_placed,
    od.OrderPaid: on_order_paid,
    od.OrderCancellationRequested: on_order_cancellation_requested,
    od.OrderCancelled: on_order_cancelled,
    od.OrderClosed: on_order_closed,
    lg.StockReserved: on_stock_reserved,
    lg.ShipmentShipped: on_shipment_shipped,
    lg.ShipmentDelivered: on_shipment_delivered,
    lg.ShipmentStopped: on_shipment_stopped,
    lg.ShipmentAlreadyDispatched: on_shipment_already_dispatched,
    pm.RefundPaid: on_refund_paid,
    pm.RefundFailed: on_refund_failed,
}

TIMERS: Mapping[str, TimerHandler] = {
    workflow.RULE_TIMER: on_not_received_rule,
}

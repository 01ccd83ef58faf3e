"""What the logistics service does with each incoming event and each due timer.

`HANDLERS` routes event types to handlers; `TIMERS` routes timer kinds.
Every handler is idempotent by state as well as by event id: an order is
reserved once, shipped once, released once.
"""

from collections.abc import Mapping

from services.logistics import repository as repo
from services.logistics import shipping, stock
from services.logistics.repository import Fulfilment, Shipment
from shared.consumer import Handlers, Incoming
from shared.contracts.events import order as od
from shared.contracts.events import returns as rt
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.logistics import ShipmentAlreadyDispatched, ShipmentStopped
from shared.contracts.events.order import OrderCancelled, OrderClosed, OrderPaid, OrderPlaced
from shared.contracts.events.returns import (
    RefundApproved,
    RefundFlow,
    RefundRequested,
    ReturnReceived,
)
from shared.logging import get_logger
from shared.timer_poller import TimerHandler
from shared.timers import Timer
from shared.unit import Unit

log = get_logger(__name__)


async def on_order_placed(unit: Unit, msg: Incoming[OrderPlaced]) -> None:
    record = await stock.reserve(unit, msg.order_id, msg.payload)
    if record is not None and msg.payload.payment_method == PaymentMethod.CASH_ON_DELIVERY:
        await shipping.open_shipment(unit, record, paid_at=unit.now)


async def on_order_paid(unit: Unit, msg: Incoming[OrderPaid]) -> None:
    record = await repo.fulfilment(unit.conn, msg.order_id)
    if record is None:
        raise LookupError("OrderPaid for an order logistics never saw placed")
    if record.paid_at is None:
        await repo.set_paid(unit.conn, msg.order_id, msg.payload.paid_at)
    if record.state != "reserved" or await repo.shipment_of_order(unit.conn, msg.order_id):
        log.info("paid order needs no new shipment", state=record.state)
        return
    await shipping.open_shipment(unit, record, paid_at=msg.payload.paid_at)


async def on_order_cancelled(unit: Unit, msg: Incoming[OrderCancelled]) -> None:
    await _release(unit, msg.order_id, f"order_cancelled:{msg.payload.reason}")


async def on_order_closed(unit: Unit, msg: Incoming[OrderClosed]) -> None:
    await _release(unit, msg.order_id, f"order_closed:{msg.payload.reason}")


async def on_refund_requested(unit: Unit, msg: Incoming[RefundRequested]) -> None:
    """A refund before shipping waits for this answer: the shipment stopped (and the stock
    released), or the parcel had already left. Asked again, the answer is the same."""
    event = msg.payload
    if event.flow is not RefundFlow.BEFORE_SHIPPING:
        return
    held = await repo.fulfilment(unit.conn, msg.order_id)
    released = held is not None and held.state == "reserved"
    left = await _release(unit, msg.order_id, "refunded_before_shipping")
    request_id = event.refund_request_id
    if left is None:
        stopped = await repo.shipment_of_order(unit.conn, msg.order_id)
        answer: ShipmentStopped | ShipmentAlreadyDispatched = ShipmentStopped(
            refund_request_id=request_id,
            shipment_id=stopped.shipment_id if stopped else None,
            stock_released=released,
        )
    else:
        log.info("parcel already shipped; refund before shipping refused", refund=request_id)
        answer = ShipmentAlreadyDispatched(
            refund_request_id=request_id,
            shipment_id=left.shipment_id,
            courier=left.courier,
            tracking_number=left.tracking_number,
            shipped_at=left.shipped_at,
        )
    await unit.emit(answer, order_id=msg.order_id)


async def on_refund_approved(unit: Unit, msg: Incoming[RefundApproved]) -> None:
    """A flow-1 approval follows ShipmentStopped, so this finds nothing left to release;
    it still stops a shipment for an approval made without asking first."""
    if msg.payload.flow is not RefundFlow.BEFORE_SHIPPING:
        return
    await _release(unit, msg.order_id, "refunded_before_shipping")


async def _release(unit: Unit, order_id: str, reason: str) -> Shipment | None:
    """Stops a shipment that has not left and gives the stock back. Returns the parcel
    already on its way (not recalled), else None. An order never seen is remembered as
    cancelled, so it is never reserved or shipped later."""
    record = await repo.fulfilment(unit.conn, order_id)
    if record is None:
        await repo.insert_fulfilment(unit.conn, _tombstone(order_id, unit))
        return None
    if record.state not in ("reserved", "shipped"):
        log.info("nothing held to release", state=record.state, reason=reason)
        return None
    left = await shipping.stop(unit, record, reason)
    if left is not None:
        log.info("parcel already shipped; not cancelled", reason=reason)
        return left
    if record.state == "reserved":
        await stock.release(unit, record, reason)
    return None


def _tombstone(order_id: str, unit: Unit) -> Fulfilment:
    return Fulfilment(order_id, "cancelled", None, [], None, None, unit.correlation_id,
                      None, None, None)  # fmt: skip


async def on_return_received(unit: Unit, msg: Incoming[ReturnReceived]) -> None:
    payload = msg.payload
    await stock.restock(unit, msg.order_id, payload.refund_request_id, payload.lines)


HANDLERS: Handlers = {
    od.OrderPlaced: on_order_placed,
    od.OrderPaid: on_order_paid,
    od.OrderCancelled: on_order_cancelled,
    od.OrderClosed: on_order_closed,
    rt.RefundRequested: on_refund_requested,
    rt.RefundApproved: on_refund_approved,
    rt.ReturnReceived: on_return_received,
}


async def on_ship_due(unit: Unit, timer: Timer) -> None:
    record = await repo.fulfilment(unit.conn, timer.key)
    shipment = await repo.shipment_of_order(unit.conn, timer.key)
    if record is None or shipment is None or shipment.status.value != "pending":
        return
    await shipping.dispatch(unit, record, shipment)


async def on_ship_by(unit: Unit, timer: Timer) -> None:
    order_id, _, expected = timer.key.rpartition(":")
    shipment = await repo.shipment_of_order(unit.conn, order_id)
    if shipment is not None and shipment.expected_date.isoformat() == expected:
        await shipping.not_shipped_in_time(unit, shipment)


async def on_checkpoint_silence(unit: Unit, timer: Timer) -> None:
    shipment = await repo.shipment_by_id(unit.conn, timer.key)
    if shipment is not None:
        await shipping.silent_too_long(unit, shipment)


TIMERS: Mapping[str, TimerHandler] = {
    shipping.SHIP: on_ship_due,
    shipping.SHIP_BY: on_ship_by,
    shipping.SILENCE: on_checkpoint_silence,
}

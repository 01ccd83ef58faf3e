"""What the logistics service does with each incoming event and each due timer.

`HANDLERS` routes event models to handlers; `TIMERS` routes timer kinds. Each is a thin
adapter to a step (services/logistics/steps/). Every handler is idempotent by state as
well as by event id: an order is reserved once, shipped once, released once. An event
about an order logistics has not seen placed is held (shared.held) and handled when
OrderPlaced takes the order. An exchange (returns' Exchange* events) holds, ships or gives
back its replacement once, keyed by its exchange id (steps.exchanges).
"""

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from services.logistics import repository as repo
from services.logistics.deps import Deps
from services.logistics.domain.backorders import CHOICE
from services.logistics.domain.delays import ANNOUNCED
from services.logistics.domain.shipping import SHIP, SHIP_BY, SILENCE
from services.logistics.steps import backorders, exchanges, orders, shipping, stock
from shared import held
from shared.contracts.events import order as od
from shared.contracts.events import returns as rt
from shared.contracts.events.returns import RefundFlow
from shared.messages import Handlers, Incoming
from shared.timer_poller import TimerHandler
from shared.timers import Timer
from shared.unit import Unit


async def on_order_placed(unit: Unit[Deps], msg: Incoming[od.OrderPlaced]) -> None:
    await orders.take(unit, msg.order_id, msg.payload, HANDLERS)


async def on_order_paid(unit: Unit[Deps], msg: Incoming[od.OrderPaid]) -> None:
    order = await held.known_or_held(unit, msg, repo.fulfilment)
    if order is None:
        return
    has_shipment = None
    if order.paid_at is None:
        has_shipment = await repo.set_paid(unit.conn, msg.order_id, msg.payload.paid_at)
        order = replace(order, paid_at=msg.payload.paid_at)
    await shipping.ship_when_ready(
        unit, order, paid_at=msg.payload.paid_at, has_shipment=has_shipment
    )


async def on_order_cancelled(unit: Unit[Deps], msg: Incoming[od.OrderCancelled]) -> None:
    await _end(unit, msg, f"order_cancelled:{msg.payload.reason}")


async def on_order_closed(unit: Unit[Deps], msg: Incoming[od.OrderClosed]) -> None:
    await _end(unit, msg, f"order_closed:{msg.payload.reason}")


async def on_refund_requested(unit: Unit[Deps], msg: Incoming[rt.RefundRequested]) -> None:
    if msg.payload.flow is not RefundFlow.BEFORE_SHIPPING:
        return
    order = await held.known_or_held(unit, msg, repo.fulfilment)
    if order is not None:
        await orders.refund_before_shipping(unit, order, msg.payload.refund_request_id)


async def on_refund_approved(unit: Unit[Deps], msg: Incoming[rt.RefundApproved]) -> None:
    """A flow-1 approval follows ShipmentStopped, so this finds nothing left to release;
    it still stops a shipment for an approval made without asking first."""
    if msg.payload.flow is RefundFlow.BEFORE_SHIPPING:
        await _end(unit, msg, "refunded_before_shipping")


async def _end(unit: Unit[Deps], msg: Incoming[Any], reason: str) -> None:
    order = await held.known_or_held(unit, msg, repo.fulfilment)
    if order is not None:
        await orders.end(unit, order, reason)


async def on_return_received(unit: Unit[Deps], msg: Incoming[rt.ReturnReceived]) -> None:
    payload = msg.payload
    back = await stock.restock(unit, msg.order_id, payload.refund_request_id, payload.lines)
    await backorders.serve(unit, back)  # returned goods go to the orders that wait first


async def on_exchange_requested(unit: Unit[Deps], msg: Incoming[rt.ExchangeRequested]) -> None:
    order = await held.known_or_held(unit, msg, repo.fulfilment)
    if order is not None:
        await exchanges.reserve(unit, order, msg.payload)


async def on_exchange_cancelled(unit: Unit[Deps], msg: Incoming[rt.ExchangeCancelled]) -> None:
    order = await held.known_or_held(unit, msg, repo.fulfilment)
    if order is not None:
        await exchanges.cancel(unit, msg.payload.exchange_id)


async def on_exchange_released(unit: Unit[Deps], msg: Incoming[rt.ExchangeReleased]) -> None:
    order = await held.known_or_held(unit, msg, repo.fulfilment)
    if order is not None:
        await exchanges.release(unit, order, msg.payload.exchange_id)


async def on_exchange_return_received(
    unit: Unit[Deps], msg: Incoming[rt.ExchangeReturnReceived]
) -> None:
    payload = msg.payload
    await exchanges.returned(unit, msg.order_id, payload.exchange_id, payload.lines)


async def on_backorder_choice(unit: Unit[Deps], msg: Incoming[od.BackorderChoiceMade]) -> None:
    order = await held.known_or_held(unit, msg, repo.fulfilment)
    if order is not None:
        await backorders.choose(unit, order, msg.payload.choice, "customer")


HANDLERS: Handlers = {
    od.OrderPlaced: on_order_placed,
    od.OrderPaid: on_order_paid,
    od.OrderCancelled: on_order_cancelled,
    od.OrderClosed: on_order_closed,
    od.BackorderChoiceMade: on_backorder_choice,
    rt.RefundRequested: on_refund_requested,
    rt.RefundApproved: on_refund_approved,
    rt.ReturnReceived: on_return_received,
    rt.ExchangeRequested: on_exchange_requested,
    rt.ExchangeCancelled: on_exchange_cancelled,
    rt.ExchangeReleased: on_exchange_released,
    rt.ExchangeReturnReceived: on_exchange_return_received,
}


async def on_ship_due(unit: Unit[Deps], timer: Timer) -> None:
    await shipping.ship_due(unit, timer.key)


async def on_ship_by(unit: Unit[Deps], timer: Timer) -> None:
    order_id, _, expected = timer.key.rpartition(":")
    await shipping.ship_by_passed(unit, order_id, expected)


async def on_checkpoint_silence(unit: Unit[Deps], timer: Timer) -> None:
    await shipping.silence_passed(unit, timer.key)


async def on_backorder_deadline(unit: Unit[Deps], timer: Timer) -> None:
    await backorders.deadline(unit, timer.key)


async def on_announced_delay(unit: Unit[Deps], timer: Timer) -> None:
    delay_id, _, shipment_id = timer.key.rpartition(":")
    await shipping.announced_delay_due(unit, delay_id, shipment_id)


TIMERS: Mapping[str, TimerHandler] = {
    ANNOUNCED: on_announced_delay,
    CHOICE: on_backorder_deadline,
    SHIP: on_ship_due,
    SHIP_BY: on_ship_by,
    SILENCE: on_checkpoint_silence,
}

"""What the returns service does with each incoming event and each due timer.

`HANDLERS` routes event models to handlers; `TIMERS` routes timer kinds. Each handler is a
thin adapter from the message to a step (services.returns.steps, and
services.returns.exchange_steps for exchanges). An event about an order returns has not
seen placed yet is held (shared.held) and handled once OrderPlaced is. Exchange events
answer an exchange returns recorded itself, so they are never held: one returns does not
hold is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from services.returns import exchange_steps, steps
from services.returns import repository as repo
from services.returns.deps import Deps
from services.returns.domain.exchange_transitions import PAY_TIMER, RETURN_TIMER
from services.returns.domain.transitions import RULE_TIMER
from shared import held
from shared.contracts.events import logistics as lg
from shared.contracts.events import order as od
from shared.contracts.events import payment as pm
from shared.contracts.events.common import LineQuantity
from shared.logging import get_logger
from shared.messages import Handlers, Incoming
from shared.timer_poller import TimerHandler
from shared.unit import Unit

log = get_logger(__name__)


async def _known(unit: Unit[Deps], msg: Incoming[Any]) -> bool:
    """Whether returns knows the message's order (then locked for the unit); if not, the
    message is held for it."""
    return await held.known_or_held(unit, msg, repo.lock_order) is not None


async def on_order_placed(unit: Unit[Deps], msg: Incoming[od.OrderPlaced]) -> None:
    event = msg.payload
    lines = [line.model_dump(mode="json") for line in event.lines]
    fee = event.shipping_fee.amount if event.shipping_fee else 0
    await steps.record_facts(
        unit,
        msg.order_id,
        currency=event.total.currency,
        total=event.total.amount,
        lines=lines,
        shipping_fee=fee,
    )
    await held.release(unit, msg.order_id, HANDLERS)


async def _facts(unit: Unit[Deps], msg: Incoming[Any], **facts: Any) -> repo.Known | None:
    """Records the facts the message tells of a known order (the row locked), in one
    statement; if returns does not know the order, the message is held for it."""
    return await held.known_or_held(unit, msg, partial(repo.update_known_order, **facts))


async def on_order_paid(unit: Unit[Deps], msg: Incoming[od.OrderPaid]) -> None:
    amount = msg.payload.amount
    paid = {"currency": amount.currency, "paid_amount": amount.amount}
    known = await _facts(unit, msg, **paid, paid_at=msg.payload.paid_at)
    if known is not None and known.waiting:  # a cancelled order's refund waited for this
        await steps.refund_cancelled_order(unit, msg.order_id, known.waiting)
    if known is not None:  # refunds held until the payment is known (surcharge, backorder)
        await held.release(unit, msg.order_id, HANDLERS)


async def on_order_cancellation_requested(
    unit: Unit[Deps], msg: Incoming[od.OrderCancellationRequested]
) -> None:
    if await _known(unit, msg):
        await steps.order_cancelled(
            unit,
            msg.order_id,
            ended="cancellation_requested",
            refund_reason="customer_cancelled",
            paid=msg.payload.paid,
        )


async def on_order_cancelled(unit: Unit[Deps], msg: Incoming[od.OrderCancelled]) -> None:
    if await _known(unit, msg):
        event = msg.payload
        refunded = event.was_paid and event.reason != "refunded_before_shipping"
        reason = event.reason if refunded else None
        await steps.order_cancelled(unit, msg.order_id, ended="cancelled", refund_reason=reason)


async def on_order_closed(unit: Unit[Deps], msg: Incoming[od.OrderClosed]) -> None:
    await _facts(unit, msg, ended="closed")


async def on_order_refused(unit: Unit[Deps], msg: Incoming[od.OrderRefused]) -> None:
    """A cash-on-delivery parcel went back to the shop unpaid: nothing to refund."""
    await _facts(unit, msg, ended="refused")


async def on_stock_reserved(unit: Unit[Deps], msg: Incoming[lg.StockReserved]) -> None:
    await _facts(unit, msg, promised_ship_date=msg.payload.promised_ship_date)


async def on_shipment_shipped(unit: Unit[Deps], msg: Incoming[lg.ShipmentShipped]) -> None:
    await _facts(unit, msg, shipped_at=msg.payload.shipped_at)


async def on_shipment_delivered(unit: Unit[Deps], msg: Incoming[lg.ShipmentDelivered]) -> None:
    if await _known(unit, msg):
        await steps.shipment_delivered(unit, msg.order_id, msg.payload)


async def on_shipment_stopped(unit: Unit[Deps], msg: Incoming[lg.ShipmentStopped]) -> None:
    await steps.shipment_stopped(unit, msg.payload)


async def on_shipment_already_dispatched(
    unit: Unit[Deps], msg: Incoming[lg.ShipmentAlreadyDispatched]
) -> None:
    await steps.shipment_left(unit, msg.payload)


async def on_courier_substituted(unit: Unit[Deps], msg: Incoming[lg.CourierSubstituted]) -> None:
    """The surcharge of a courier chosen at checkout and not honoured is refunded; on cash
    on delivery it is simply not collected (nothing to refund). Until returns knows the
    payment, the event is held, as for an unknown order, and OrderPaid releases it."""
    event = msg.payload
    if event.courier_fee is None or event.cash_on_delivery is not None:
        return
    if not await _known(unit, msg):
        return
    if not await steps.refund_courier_fee(unit, msg.order_id, event.courier_fee):
        await held.hold(unit.conn, msg)


async def on_backorder_dropped(unit: Unit[Deps], msg: Incoming[lg.BackorderDropped]) -> None:
    """The units a backorder dropped are refunded (the rest of the order ships). Until
    returns knows the payment, the event is held, as for an unknown order, and OrderPaid
    releases it."""
    if not await _known(unit, msg):
        return
    dropped = tuple(
        LineQuantity(line_id=line.line_id, sku=line.sku, quantity=line.quantity)
        for line in msg.payload.dropped
    )
    if not await steps.refund_backorder(unit, msg.order_id, dropped):
        await held.hold(unit.conn, msg)


async def on_returned_to_shop(unit: Unit[Deps], msg: Incoming[lg.ShipmentReturnedToShop]) -> None:
    """A refused parcel is back with the shop: a paid order's goods are refunded (a
    cash-on-delivery order was never charged)."""
    if await _known(unit, msg):
        await steps.refund_returned_parcel(unit, msg.order_id)


async def on_refund_paid(unit: Unit[Deps], msg: Incoming[pm.RefundPaid]) -> None:
    await steps.refund_paid(unit, msg.order_id, msg.payload)


async def on_refund_failed(unit: Unit[Deps], msg: Incoming[pm.RefundFailed]) -> None:
    await steps.refund_failed(unit, msg.payload)


async def on_price_changed(unit: Unit[Deps], msg: Incoming[lg.PriceChanged]) -> None:
    price = msg.payload
    await repo.record_price(unit.conn, price.sku, price.price, price.changed_at)


async def on_exchange_reserved(unit: Unit[Deps], msg: Incoming[lg.ExchangeReserved]) -> None:
    await exchange_steps.reserved(unit, msg.payload)


async def on_exchange_unavailable(unit: Unit[Deps], msg: Incoming[lg.ExchangeUnavailable]) -> None:
    await exchange_steps.unavailable(unit, msg.payload)


async def on_exchange_payment_succeeded(
    unit: Unit[Deps], msg: Incoming[pm.ExchangePaymentSucceeded]
) -> None:
    await exchange_steps.payment_succeeded(unit, msg.payload)


async def on_exchange_shipped(unit: Unit[Deps], msg: Incoming[lg.ExchangeShipped]) -> None:
    await exchange_steps.shipped(unit, msg.payload)


async def on_exchange_delivered(unit: Unit[Deps], msg: Incoming[lg.ExchangeDelivered]) -> None:
    await exchange_steps.delivered(unit, msg.payload)


HANDLERS: Handlers = {
    od.OrderPlaced: on_order_placed,
    od.OrderPaid: on_order_paid,
    od.OrderCancellationRequested: on_order_cancellation_requested,
    od.OrderCancelled: on_order_cancelled,
    od.OrderClosed: on_order_closed,
    od.OrderRefused: on_order_refused,
    lg.StockReserved: on_stock_reserved,
    lg.ShipmentShipped: on_shipment_shipped,
    lg.ShipmentDelivered: on_shipment_delivered,
    lg.ShipmentStopped: on_shipment_stopped,
    lg.ShipmentAlreadyDispatched: on_shipment_already_dispatched,
    lg.CourierSubstituted: on_courier_substituted,
    lg.BackorderDropped: on_backorder_dropped,
    lg.ShipmentReturnedToShop: on_returned_to_shop,
    pm.RefundPaid: on_refund_paid,
    lg.PriceChanged: on_price_changed,
    pm.RefundFailed: on_refund_failed,
    lg.ExchangeReserved: on_exchange_reserved,
    lg.ExchangeUnavailable: on_exchange_unavailable,
    pm.ExchangePaymentSucceeded: on_exchange_payment_succeeded,
    lg.ExchangeShipped: on_exchange_shipped,
    lg.ExchangeDelivered: on_exchange_delivered,
}

TIMERS: Mapping[str, TimerHandler] = {
    RULE_TIMER: steps.rule_due,
    PAY_TIMER: exchange_steps.pay_due,
    RETURN_TIMER: exchange_steps.return_due,
}

"""What the notify service does with each incoming event and each due timer.

`HANDLERS` routes event models to handlers; `TIMERS` routes timer kinds. Each handler is a
few lines from the message to a step (steps.py); the steps record messages (never send
them: the sender does, after commit) in the transaction the consumer loop opened. An event
about an order notify has not heard of yet is held (shared.held) and handled when the
order's OrderPlaced arrives.
"""

from collections.abc import Callable, Mapping
from typing import Any

from services.notify import domain, ops, steps
from services.notify.deps import Deps
from services.notify.domain import REMINDER, OrderState
from shared import held
from shared.contracts.events import logistics as lg
from shared.contracts.events import order as od
from shared.contracts.events import payment as pm
from shared.contracts.events import returns as rt
from shared.messages import Handler, Handlers, Incoming
from shared.timer_poller import TimerHandler
from shared.timers import Timer
from shared.unit import Unit


async def on_order_placed(unit: Unit[Deps], msg: Incoming[od.OrderPlaced]) -> None:
    if await steps.introduce(unit, msg):
        await held.release(unit, msg.order_id, HANDLERS)


async def on_order_paid(unit: Unit[Deps], msg: Incoming[od.OrderPaid]) -> None:
    await steps.react(unit, msg, lambda _: domain.paid(msg.payload.paid_at))


async def on_payment_failed(unit: Unit[Deps], msg: Incoming[pm.PaymentFailed]) -> None:
    await steps.react(unit, msg, lambda found: domain.payment_failed(found.state))


async def on_order_closed(unit: Unit[Deps], msg: Incoming[od.OrderClosed]) -> None:
    await steps.react(unit, msg, lambda _: domain.ended(OrderState.CLOSED, "order_closed"))


async def on_order_cancelled(unit: Unit[Deps], msg: Incoming[od.OrderCancelled]) -> None:
    await steps.react(unit, msg, lambda _: domain.cancelled(msg.payload.reason))


async def on_order_refused(unit: Unit[Deps], msg: Incoming[od.OrderRefused]) -> None:
    await steps.react(unit, msg, lambda found: domain.refused(found.state))


async def on_refund_requested(unit: Unit[Deps], msg: Incoming[rt.RefundRequested]) -> None:
    if domain.refund_request_is_told(msg.payload.actor):
        price_drop = msg.payload.reason == "price_dropped"
        template = "price_difference" if price_drop else "refund_requested"
        await steps.react(unit, msg, lambda _: domain.told(template))


def telling(template: str) -> Handler:
    """The handler of an event that only tells the customer `template`."""

    async def on_event(unit: Unit[Deps], msg: Incoming[Any]) -> None:
        await steps.react(unit, msg, lambda _: domain.told(template))

    return on_event


def once_per_order(template: str, occasion: Callable[[Any], str]) -> Handler:
    """The handler of a fact logistics tells of each parcel it concerns that the customer
    hears once for the order: two parcels of one order delayed to the same day, or under
    the same announcement (the same `occasion`), are one message."""

    async def on_event(unit: Unit[Deps], msg: Incoming[Any]) -> None:
        await steps.tell_once(unit, msg, template, occasion(msg.payload))

    return on_event


def once_per_exchange(template: str) -> Handler:
    """The handler of an exchange's step: told once per exchange, whatever event ids or
    redeliveries carry it."""
    return once_per_order(template, lambda e: e.exchange_id)


def parcel_step(step: str) -> Handler:
    """The handler of a parcel's step (shipped, out for delivery, delivered): told once per
    parcel, so each parcel of an order is told of, and each parcel once."""

    async def on_event(unit: Unit[Deps], msg: Incoming[Any]) -> None:
        await steps.tell_checkpoint(unit, msg, step)

    return on_event


async def on_checkpoint_reached(unit: Unit[Deps], msg: Incoming[lg.CheckpointReached]) -> None:
    step = domain.CHECKPOINT_TEMPLATES.get(msg.payload.status)
    if step is not None:  # the others (in transit, returned, ...) only join the timeline
        await steps.tell_checkpoint(unit, msg, step)


# the renamed event and its retired v1 (still on the topic) share one handler
on_out_for_delivery = parcel_step("out_for_delivery")


async def on_payment_reminder_due(unit: Unit[Deps], timer: Timer) -> None:
    await steps.remind(unit, timer)


HANDLERS: Handlers = {
    od.OrderPlaced: on_order_placed,
    od.OrderPaid: on_order_paid,
    od.OrderClosed: on_order_closed,
    od.OrderCancelled: on_order_cancelled,
    od.OrderCompleted: telling("order_completed"),
    od.OrderRefused: on_order_refused,
    pm.PaymentFailed: on_payment_failed,
    pm.RefundPaid: telling("refund_paid"),
    lg.ShipmentShipped: parcel_step("shipped"),
    lg.ShipmentDelayed: once_per_order(
        "shipment_delayed", lambda e: f"{e.reason}:{e.new_expected_date}"
    ),
    lg.ShipmentDelayAnnounced: once_per_order("delay_announced", lambda e: e.delay_id),
    lg.CourierSubstituted: telling("courier_changed"),
    lg.StockBackordered: telling("stock_backordered"),
    lg.BackorderDropped: telling("backorder_dropped"),
    lg.BackorderWaiting: telling("backorder_waiting"),
    lg.BackorderFilled: telling("backorder_filled"),
    lg.BackorderRestockDateChanged: telling("backorder_restock_changed"),
    lg.CheckpointReached: on_checkpoint_reached,
    lg.ShipmentWentOutForDelivery: on_out_for_delivery,
    lg.ShipmentOutForDelivery: on_out_for_delivery,  # retired v1, still on the topic
    lg.ShipmentDelivered: parcel_step("delivered"),
    rt.RefundRequested: on_refund_requested,
    rt.RefundApproved: telling("refund_approved"),
    rt.ReturnReceived: telling("return_received"),
    rt.ExchangeAccepted: once_per_exchange("exchange_accepted"),
    rt.ExchangeRefused: once_per_exchange("exchange_refused"),
    rt.ExchangeCancelled: once_per_exchange("exchange_cancelled"),
    # a new attempt (a new link) is told; the same attempt told again is not
    pm.ExchangePaymentRequested: once_per_order(
        "exchange_payment_requested", lambda e: e.attempt_id
    ),
    lg.ExchangeShipped: once_per_exchange("exchange_shipped"),
    lg.ExchangeDelivered: once_per_exchange("exchange_delivered"),
    lg.StockRanLow: ops.stock_ran_low,  # to operations, not a customer
    lg.LowStock: ops.stock_ran_low,  # retired v1, still on the topic
}

TIMERS: Mapping[str, TimerHandler] = {REMINDER: on_payment_reminder_due}

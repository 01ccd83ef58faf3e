"""What the payment service does with each incoming event and each due timer.

`HANDLERS` routes event models to handlers; `TIMERS` routes timer kinds. Each handler
hands its message to a step. An event about an order payment has not seen placed yet is
held (shared/held.py) and handled when OrderPlaced introduces the order.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from services.payment import repository as repo
from services.payment.deps import Deps
from services.payment.steps.exchanges import exchange_accepted, exchange_cancelled
from services.payment.steps.orders import (
    cash_collected,
    cash_due_lowered,
    order_ended,
    order_placed,
)
from services.payment.steps.refunds import REFUND_RETRY, approve_refund, hand_over
from shared import held
from shared.contracts.events import logistics as lg
from shared.contracts.events import order as od
from shared.contracts.events import returns as rt
from shared.messages import Handlers, Incoming
from shared.timer_poller import TimerHandler
from shared.timers import Timer
from shared.unit import Unit

_payment = partial(repo.get_payment, lock=True)


async def on_order_placed(unit: Unit[Deps], msg: Incoming[od.OrderPlaced]) -> None:
    await order_placed(unit, msg.order_id, msg.payload)
    await held.release(unit, msg.order_id, HANDLERS)


async def on_order_closed(unit: Unit[Deps], msg: Incoming[od.OrderClosed]) -> None:
    if payment := await held.known_or_held(unit, msg, _payment):
        await order_ended(unit, payment, "closed", was_paid=False)


async def on_order_cancelled(unit: Unit[Deps], msg: Incoming[od.OrderCancelled]) -> None:
    if payment := await held.known_or_held(unit, msg, _payment):
        await order_ended(unit, payment, "cancelled", was_paid=msg.payload.was_paid)


async def on_order_refused(unit: Unit[Deps], msg: Incoming[od.OrderRefused]) -> None:
    """The parcel went back to the shop: a cash-on-delivery payment ends uncharged."""
    if payment := await held.known_or_held(unit, msg, _payment):
        await order_ended(unit, payment, "refused", was_paid=msg.payload.was_paid)


async def on_shipment_delivered(unit: Unit[Deps], msg: Incoming[lg.ShipmentDelivered]) -> None:
    if msg.payload.cash_collected is None:
        return  # paid upfront: nothing for payment to do
    if payment := await held.known_or_held(unit, msg, _payment):
        await cash_collected(unit, payment, msg.payload)


async def on_courier_substituted(unit: Unit[Deps], msg: Incoming[lg.CourierSubstituted]) -> None:
    due = msg.payload.cash_on_delivery
    if due is None:
        return  # paid upfront: returns refunds the surcharge
    if payment := await held.known_or_held(unit, msg, _payment):
        await cash_due_lowered(unit, payment, due)


async def on_refund_approved(unit: Unit[Deps], msg: Incoming[rt.RefundApproved]) -> None:
    if await held.known_or_held(unit, msg, _payment):
        await approve_refund(unit, msg.order_id, msg.payload)


async def on_exchange_accepted(unit: Unit[Deps], msg: Incoming[rt.ExchangeAccepted]) -> None:
    if msg.payload.settlement != "charge":
        return  # a refund of the difference comes as RefundApproved
    if payment := await held.known_or_held(unit, msg, _payment):
        await exchange_accepted(unit, payment, msg.payload)


async def on_exchange_cancelled(unit: Unit[Deps], msg: Incoming[rt.ExchangeCancelled]) -> None:
    if await held.known_or_held(unit, msg, _payment):
        await exchange_cancelled(unit, msg.payload.exchange_id)


async def on_refund_retry(unit: Unit[Deps], timer: Timer) -> None:
    await hand_over(unit, timer.payload["refund_id"])


HANDLERS: Handlers = {
    od.OrderPlaced: on_order_placed,
    od.OrderClosed: on_order_closed,
    od.OrderCancelled: on_order_cancelled,
    od.OrderRefused: on_order_refused,
    lg.ShipmentDelivered: on_shipment_delivered,
    lg.CourierSubstituted: on_courier_substituted,
    rt.RefundApproved: on_refund_approved,
    rt.ExchangeAccepted: on_exchange_accepted,
    rt.ExchangeCancelled: on_exchange_cancelled,
}

TIMERS: Mapping[str, TimerHandler] = {REFUND_RETRY: on_refund_retry}

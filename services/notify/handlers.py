"""What the notify service does with each incoming event and each due timer.

`HANDLERS` routes event types to handlers; `TIMERS` routes timer kinds. Every
handler records messages (never sends them; the sender loop does) in the
transaction the consumer loop opened. An event that arrives before its order's
OrderPlaced is held and handled when the OrderPlaced arrives.
"""

from collections.abc import Mapping
from typing import Any

import asyncpg

from services.notify import domain, repository
from services.notify.domain import REMINDER, OrderState
from services.notify.outgoing import NotifyDeps, Source, tell
from services.notify.repository import OrderRecord
from shared.consumer import Handlers, Incoming, RawMessage
from shared.contracts.envelope import Envelope, event_types
from shared.contracts.events import logistics, order, payment, returns
from shared.contracts.events import logistics as lg
from shared.contracts.events import order as od
from shared.contracts.events import payment as pm
from shared.contracts.events import returns as rt
from shared.logging import get_logger
from shared.timer_poller import TimerHandler
from shared.timers import Timer
from shared.unit import Unit

log = get_logger(__name__)


def source_of(msg: Incoming[Any]) -> Source:
    e = msg.envelope
    return Source(str(e.event_id), e.type, e.correlation_id)


async def order_or_hold(unit: Unit, msg: Incoming[Any]) -> OrderRecord | None:
    """The order the event is about; None (and the event held) while its OrderPlaced is due."""
    found = await repository.load_order(unit.conn, msg.order_id)
    if found is None:
        await repository.hold_event(unit.conn, msg.envelope, msg.raw)
        log.info("event held until its order is placed")
    return found


async def tell_about(unit: Unit, msg: Incoming[Any], template: str) -> None:
    found = await order_or_hold(unit, msg)
    if found is not None:
        await tell(unit, found, template, source_of(msg), msg.payload)


async def schedule_next_reminder(unit: Unit, found: OrderRecord, sent: int) -> None:
    deps: NotifyDeps = unit.deps
    due = found.placed.payment_due_at
    if due is None:
        return
    at = deps.schedule.next_after(found.placed_at, due, sent, unit.now)
    if at is not None:
        payload = {"order_id": found.order_id, "number": sent + 1}
        await unit.schedule(REMINDER, f"{found.order_id}:{sent + 1}", at, payload)


async def stop_reminders(unit: Unit, found: OrderRecord, state: str) -> None:
    deps: NotifyDeps = unit.deps
    await repository.set_state(unit.conn, found.order_id, state)
    for number in range(1, deps.settings.reminder_max + 1):
        await unit.cancel_timer(REMINDER, f"{found.order_id}:{number}")
        await unit.cancel_timer(REMINDER, f"{found.order_id}:{number}:morning")
    await repository.cancel_pending(unit.conn, found.order_id, REMINDER)


async def on_order_placed(unit: Unit, msg: Incoming[order.OrderPlaced]) -> None:
    deps: NotifyDeps = unit.deps
    variant = domain.variant_for(msg.order_id, deps.settings.reminder_variants)
    placed_at = msg.envelope.occurred_at
    if not await repository.add_order(unit.conn, msg.order_id, msg.payload, placed_at, variant):
        return
    found = await repository.load_order(unit.conn, msg.order_id)
    assert found is not None
    await tell(unit, found, "order_confirmation", source_of(msg), msg.payload)
    await schedule_next_reminder(unit, found, sent=0)
    for row in await repository.take_held(unit.conn, msg.order_id):
        held = held_incoming(row)
        log.info("handling held event", held_event_id=str(held.envelope.event_id))
        await HANDLERS[type(held.payload)](unit, held)


def held_incoming(row: asyncpg.Record) -> Incoming[Any]:
    envelope = Envelope.model_validate(row["envelope"])
    model = event_types()[(envelope.type, envelope.schema_version)]
    raw = RawMessage(row["topic"], row["partition"], row["offset"], None, None)
    return Incoming(envelope, model.model_validate(envelope.payload), raw)


async def on_order_paid(unit: Unit, msg: Incoming[order.OrderPaid]) -> None:
    found = await order_or_hold(unit, msg)
    if found is None:
        return
    converted = await repository.mark_paid(unit.conn, msg.order_id, msg.payload.paid_at)
    await stop_reminders(unit, found, OrderState.PAID)
    log.info("order paid", variant=found.variant, converted_by_reminder=converted)
    await tell(unit, found, "payment_received", source_of(msg), msg.payload)


async def on_payment_failed(unit: Unit, msg: Incoming[payment.PaymentFailed]) -> None:
    found = await order_or_hold(unit, msg)
    if found is not None and domain.payment_failure_is_told(found.state):
        await tell(unit, found, "payment_failed", source_of(msg), msg.payload)


async def on_order_closed(unit: Unit, msg: Incoming[order.OrderClosed]) -> None:
    found = await order_or_hold(unit, msg)
    if found is not None:
        await stop_reminders(unit, found, OrderState.CLOSED)
        await tell(unit, found, "order_closed", source_of(msg), msg.payload)


async def on_order_cancelled(unit: Unit, msg: Incoming[order.OrderCancelled]) -> None:
    found = await order_or_hold(unit, msg)
    if found is not None:
        await stop_reminders(unit, found, OrderState.CANCELLED)
        template = domain.cancellation_template(msg.payload.reason)
        await tell(unit, found, template, source_of(msg), msg.payload)


async def on_refund_requested(unit: Unit, msg: Incoming[returns.RefundRequested]) -> None:
    if domain.refund_request_is_told(msg.payload.actor):
        await tell_about(unit, msg, "refund_requested")


async def on_order_completed(unit: Unit, msg: Incoming[order.OrderCompleted]) -> None:
    await tell_about(unit, msg, "order_completed")


async def on_shipment_shipped(unit: Unit, msg: Incoming[logistics.ShipmentShipped]) -> None:
    await tell_about(unit, msg, "shipped")


async def on_shipment_delayed(unit: Unit, msg: Incoming[logistics.ShipmentDelayed]) -> None:
    await tell_about(unit, msg, "shipment_delayed")


async def on_out_for_delivery(
    unit: Unit, msg: Incoming[logistics.ShipmentWentOutForDelivery]
) -> None:
    await tell_about(unit, msg, "out_for_delivery")


async def on_shipment_delivered(unit: Unit, msg: Incoming[logistics.ShipmentDelivered]) -> None:
    await tell_about(unit, msg, "delivered")


async def on_refund_approved(unit: Unit, msg: Incoming[returns.RefundApproved]) -> None:
    await tell_about(unit, msg, "refund_approved")


async def on_refund_paid(unit: Unit, msg: Incoming[payment.RefundPaid]) -> None:
    await tell_about(unit, msg, "refund_paid")


async def on_return_received(unit: Unit, msg: Incoming[returns.ReturnReceived]) -> None:
    await tell_about(unit, msg, "return_received")


async def on_payment_reminder_due(unit: Unit, timer: Timer) -> None:
    """A planned reminder fell due: send it, move it to the morning, or let it go."""
    deps: NotifyDeps = unit.deps
    found = await repository.load_order(unit.conn, timer.payload["order_id"])
    if found is None or found.placed.payment_due_at is None:
        return
    prefs = await repository.load_preferences(unit.conn, found.placed.customer_id)
    decision = domain.reminder_decision(
        now=unit.now,
        due_at=found.placed.payment_due_at,
        state=found.state,
        opted_out=prefs.marketing_opt_out,
        tz=deps.zone(found),
        quiet=deps.quiet,
    )
    if decision.rearm_at is not None and not timer.key.endswith(":morning"):
        await unit.schedule(REMINDER, f"{timer.key}:morning", decision.rearm_at, timer.payload)
        return
    if not decision.send:
        return
    number = await repository.count_reminder(unit.conn, found.order_id)
    source = Source(f"reminder:{found.order_id}:{number}", "PaymentReminderDue", None)
    event = {"variant": found.variant, "number": number}
    await tell(unit, found, REMINDER, source, event, variant=found.variant)
    await schedule_next_reminder(unit, found, sent=number)


HANDLERS: Handlers = {
    od.OrderPlaced: on_order_placed,
    od.OrderPaid: on_order_paid,
    od.OrderClosed: on_order_closed,
    od.OrderCancelled: on_order_cancelled,
    od.OrderCompleted: on_order_completed,
    pm.PaymentFailed: on_payment_failed,
    pm.RefundPaid: on_refund_paid,
    lg.ShipmentShipped: on_shipment_shipped,
    lg.ShipmentDelayed: on_shipment_delayed,
    lg.ShipmentWentOutForDelivery: on_out_for_delivery,
    lg.ShipmentOutForDelivery: on_out_for_delivery,  # retired v1, still on the topic
    lg.ShipmentDelivered: on_shipment_delivered,
    rt.RefundRequested: on_refund_requested,
    rt.RefundApproved: on_refund_approved,
    rt.ReturnReceived: on_return_received,
}

TIMERS: Mapping[str, TimerHandler] = {REMINDER: on_payment_reminder_due}

"""What the order service does with each incoming event and each due timer.

`HANDLERS` routes event types to handlers; `TIMERS` routes timer kinds. Each
handler loads the order (locked), asks the rules in `reactions`/`domain`, and
saves the order, its timeline, its timers and its events in the same unit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from services.order import domain, reactions, repository
from services.order.domain import Order, Outcome, Stage
from services.order.settings import OrderSettings
from shared.consumer import Handlers, Incoming
from shared.contracts.events import logistics as lg
from shared.contracts.events import payment as pm
from shared.contracts.events import returns as rt
from shared.logging import get_logger
from shared.timer_poller import TimerHandler
from shared.timers import Timer
from shared.unit import Unit

log = get_logger(__name__)


@dataclass
class OrderDeps:
    settings: OrderSettings


async def react(unit: Unit, msg: Incoming[Any], rule: Callable[[Order], Outcome]) -> None:
    order = await repository.load(unit.conn, msg.order_id, lock=True)
    if order is None:
        # Every order event follows an OrderPlaced this service committed first; an
        # unknown id belongs to another deployment's order (or a test's) and has no effect.
        log.warning("event for an unknown order ignored", order_id=msg.order_id)
        return
    await repository.record(unit, order, rule(order))


def _settings(unit: Unit) -> OrderSettings:
    deps = unit.deps
    assert isinstance(deps, OrderDeps), "the order service runs with OrderDeps"
    return deps.settings


async def on_payment_requested(unit: Unit, msg: Incoming[pm.PaymentRequested]) -> None:
    e = msg.payload
    instructions = e.model_dump(mode="json", include={"attempt_id", "checkout_url", "pay_link"})
    instructions["expires_at"] = e.expires_at.isoformat() if e.expires_at else None
    at = msg.envelope.occurred_at
    await react(unit, msg, lambda o: reactions.payment_requested(o, instructions, at))


async def on_payment_succeeded(unit: Unit, msg: Incoming[pm.PaymentSucceeded]) -> None:
    e = msg.payload
    fact = f"paid:{e.attempt_id}"
    await react(unit, msg, lambda o: reactions.paid(o, e.amount, e.method, e.paid_at, fact))


async def on_payment_failed(unit: Unit, msg: Incoming[pm.PaymentFailed]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    fact = f"payment_failed:{e.attempt_id}"
    await react(
        unit, msg, lambda o: reactions.payment_failed(o, e.message, e.retry_allowed, at, fact)
    )


async def on_refund_paid(unit: Unit, msg: Incoming[pm.RefundPaid]) -> None:
    e = msg.payload
    await react(
        unit,
        msg,
        lambda o: reactions.refund_paid(
            o, e.refund_id, e.refund_request_id, e.amount, e.reason, e.paid_at
        ),
    )


async def on_refund_failed(unit: Unit, msg: Incoming[pm.RefundFailed]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    request = e.refund_request_id or e.refund_id
    status = "approved" if e.will_retry else "failed"
    details = {"amount": e.amount.amount, "currency": e.amount.currency, "will_retry": e.will_retry}
    await react(
        unit, msg, lambda o: reactions.refund_step(o, request, status, at, "refund_failed", details)
    )


async def on_stock_reserved(unit: Unit, msg: Incoming[lg.StockReserved]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    await react(unit, msg, lambda o: reactions.stock_reserved(o, e.promised_ship_date, at))


async def on_shipping_promise_set(unit: Unit, msg: Incoming[lg.ShippingPromiseSet]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    await react(unit, msg, lambda o: reactions.ship_promised(o, e.promised_ship_date, at))


async def on_stock_shortage(unit: Unit, msg: Incoming[lg.StockRanShort]) -> None:
    short = [line.model_dump(mode="json") for line in msg.payload.lines]
    at = msg.envelope.occurred_at
    await react(unit, msg, lambda o: reactions.stock_shortage(o, short, at))


async def on_shipment_shipped(unit: Unit, msg: Incoming[lg.ShipmentShipped]) -> None:
    e = msg.payload
    shipment = e.model_dump(
        mode="json", include={"shipment_id", "courier", "tracking_number", "address", "shipped_at"}
    )
    entry = domain.Entry(
        f"shipped:{e.shipment_id}",
        e.shipped_at,
        "shipped",
        {"courier": e.courier, "tracking_number": e.tracking_number},
    )
    await react(unit, msg, lambda o: reactions.shipment_moved(o, Stage.SHIPPED, shipment, entry))


async def on_checkpoint_reached(unit: Unit, msg: Incoming[lg.CheckpointReached]) -> None:
    e = msg.payload
    key = f"checkpoint:{e.shipment_id}:{e.checkpoint_at.isoformat()}:{e.status}"
    details = {"city": e.city, "status": e.status, "description": e.description}
    entry = domain.Entry(key, e.checkpoint_at, "checkpoint", details)
    shipment = {"shipment_id": e.shipment_id, "courier": e.courier}
    shipment["tracking_number"] = e.tracking_number
    await react(unit, msg, lambda o: reactions.shipment_moved(o, Stage.SHIPPED, shipment, entry))


async def on_out_for_delivery(unit: Unit, msg: Incoming[lg.ShipmentWentOutForDelivery]) -> None:
    e = msg.payload
    key = f"out_for_delivery:{e.shipment_id}"
    entry = domain.Entry(key, e.checkpoint_at, "out_for_delivery", {"city": e.city})
    shipment = {"shipment_id": e.shipment_id, "courier": e.courier}
    shipment["tracking_number"] = e.tracking_number
    await react(unit, msg, lambda o: reactions.shipment_moved(o, Stage.SHIPPED, shipment, entry))


async def on_shipment_delivered(unit: Unit, msg: Incoming[lg.ShipmentDelivered]) -> None:
    e = msg.payload
    entry = domain.Entry(
        f"delivered:{e.shipment_id}", e.delivered_at, "delivered", {"city": e.city}
    )
    shipment = {"shipment_id": e.shipment_id, "courier": e.courier}
    shipment |= {"tracking_number": e.tracking_number, "delivered_at": e.delivered_at.isoformat()}
    confirm_at = e.delivered_at + timedelta(seconds=_settings(unit).auto_confirm_seconds)

    def rule(order: Order) -> Outcome:
        outcome = reactions.shipment_moved(order, Stage.DELIVERED, shipment, entry)
        if order.stage is Stage.DELIVERED:
            outcome.timers[domain.AUTO_CONFIRM] = confirm_at
        return outcome

    await react(unit, msg, rule)


async def on_shipment_delayed(unit: Unit, msg: Incoming[lg.ShipmentDelayed]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    await react(unit, msg, lambda o: reactions.delayed(o, e.reason, e.new_expected_date, at))


async def on_shipment_cancelled(unit: Unit, msg: Incoming[lg.ShipmentCancelled]) -> None:
    at, details = msg.envelope.occurred_at, {"reason": msg.payload.reason}
    key = "shipment_cancelled"
    await react(unit, msg, lambda o: reactions.noted(o, key, at, "shipment_cancelled", details))


def _refund_details(e: rt.RefundRequested | rt.RefundApproved) -> dict[str, Any]:
    return {"amount": e.amount.amount, "currency": e.amount.currency, "flow": e.flow.value}


async def on_refund_requested(unit: Unit, msg: Incoming[rt.RefundRequested]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    details = _refund_details(e) | {"reason": e.reason}
    rid = e.refund_request_id

    def rule(order: Order) -> Outcome:
        known = order.refunds.get(rid, {}).get("flow")
        outcome = reactions.refund_step(order, rid, "requested", at, "refund_requested", details)
        if known is not None and known != e.flow.value:  # the parcel left before it stopped
            order.refunds[rid]["flow"] = e.flow.value
            outcome.entries = [
                domain.Entry(f"refund_converted:{rid}", at, "refund_converted", details)
            ]
        return outcome

    await react(unit, msg, rule)


async def on_refund_approved(unit: Unit, msg: Incoming[rt.RefundApproved]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    details, rid = _refund_details(e), e.refund_request_id
    await react(
        unit,
        msg,
        lambda o: reactions.refund_step(o, rid, "approved", at, "refund_approved", details),
    )


async def on_refund_rejected(unit: Unit, msg: Incoming[rt.RefundRejected]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    details, rid = {"reason": e.reason}, e.refund_request_id
    await react(
        unit,
        msg,
        lambda o: reactions.refund_step(o, rid, "rejected", at, "refund_rejected", details),
    )


async def on_return_shipped(unit: Unit, msg: Incoming[rt.ReturnShipped]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    details = {"courier": e.courier, "tracking_number": e.tracking_number}
    key = f"return_shipped:{e.refund_request_id}"
    await react(unit, msg, lambda o: reactions.noted(o, key, at, "return_shipped", details))


async def on_return_received(unit: Unit, msg: Incoming[rt.ReturnReceived]) -> None:
    e = msg.payload
    key = f"return_received:{e.refund_request_id}"
    await react(unit, msg, lambda o: reactions.noted(o, key, e.received_at, "return_received", {}))


async def on_payment_window(unit: Unit, timer: Timer) -> None:
    order = await repository.load(unit.conn, timer.key, lock=True)
    if order is not None:
        await repository.record(unit, order, domain.payment_window_expired(order, unit.now))


async def on_auto_confirm(unit: Unit, timer: Timer) -> None:
    order_id, _, held = timer.key.partition("/")
    order = await repository.load(unit.conn, order_id, lock=True)
    if order is None:
        return
    settings = _settings(unit)
    hold_until = unit.now + timedelta(seconds=settings.auto_confirm_seconds)
    review_url = settings.review_url(order.order_id)
    outcome = domain.auto_confirm_due(order, unit.now, hold_until, review_url)
    hold = outcome.timers.pop(domain.AUTO_CONFIRM, None)
    await repository.record(unit, order, outcome)
    if hold is not None:
        # The poller marks the firing timer spent when this returns: the hold is a new timer.
        await unit.schedule(domain.AUTO_CONFIRM, f"{order_id}/{int(held or 0) + 1}", hold)


HANDLERS: Handlers = {
    pm.PaymentRequested: on_payment_requested,
    pm.PaymentSucceeded: on_payment_succeeded,
    pm.PaymentFailed: on_payment_failed,
    pm.RefundPaid: on_refund_paid,
    pm.RefundFailed: on_refund_failed,
    lg.StockReserved: on_stock_reserved,
    lg.StockRanShort: on_stock_shortage,
    lg.StockShortage: on_stock_shortage,  # retired v1, still on the topic
    lg.ShippingPromiseSet: on_shipping_promise_set,
    lg.ShipmentShipped: on_shipment_shipped,
    lg.CheckpointReached: on_checkpoint_reached,
    lg.ShipmentWentOutForDelivery: on_out_for_delivery,
    lg.ShipmentOutForDelivery: on_out_for_delivery,  # retired v1, still on the topic
    lg.ShipmentDelivered: on_shipment_delivered,
    lg.ShipmentDelayed: on_shipment_delayed,
    lg.ShipmentCancelled: on_shipment_cancelled,
    rt.RefundRequested: on_refund_requested,
    rt.RefundApproved: on_refund_approved,
    rt.RefundRejected: on_refund_rejected,
    rt.ReturnShipped: on_return_shipped,
    rt.ReturnReceived: on_return_received,
}

TIMERS: Mapping[str, TimerHandler] = {
    domain.PAYMENT_WINDOW: on_payment_window,
    domain.AUTO_CONFIRM: on_auto_confirm,
}

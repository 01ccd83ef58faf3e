"""What the order service does with each incoming event and each due timer.

`HANDLERS` routes event models to handlers, `TIMERS` timer kinds. Each adapter takes
what the rule needs from the message and runs a step (`steps.react` for events about an
order, `steps.change` for timers): load the order, decide (`domain`), save once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from services.order import exchange_handlers as exchanges
from services.order import steps
from services.order.deps import Deps
from services.order.domain import backorder, reactions
from services.order.domain import order as domain
from services.order.domain.order import Entry, Stage
from shared.contracts.events import logistics as lg
from shared.contracts.events import payment as pm
from shared.contracts.events import returns as rt
from shared.messages import Handlers, Incoming
from shared.timer_poller import TimerHandler
from shared.timers import Timer
from shared.unit import Unit


async def on_payment_requested(unit: Unit[Deps], msg: Incoming[pm.PaymentRequested]) -> None:
    e = msg.payload
    instructions = e.model_dump(mode="json", include={"attempt_id", "checkout_url", "pay_link"})
    instructions["expires_at"] = e.expires_at.isoformat() if e.expires_at else None
    at = msg.envelope.occurred_at
    await steps.react(unit, msg, lambda o: reactions.payment_requested(o, instructions, at))


async def on_payment_succeeded(unit: Unit[Deps], msg: Incoming[pm.PaymentSucceeded]) -> None:
    e = msg.payload
    fact = f"paid:{e.attempt_id}"
    await steps.react(unit, msg, lambda o: reactions.paid(o, e.amount, e.method, e.paid_at, fact))


async def on_payment_failed(unit: Unit[Deps], msg: Incoming[pm.PaymentFailed]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    fact = f"payment_failed:{e.attempt_id}"
    await steps.react(
        unit, msg, lambda o: reactions.payment_failed(o, e.message, e.retry_allowed, at, fact)
    )


async def on_refund_paid(unit: Unit[Deps], msg: Incoming[pm.RefundPaid]) -> None:
    e = msg.payload
    await steps.react(
        unit,
        msg,
        lambda o: reactions.refund_paid(
            o, e.refund_id, e.refund_request_id, e.amount, e.reason, e.paid_at
        ),
    )


async def on_refund_failed(unit: Unit[Deps], msg: Incoming[pm.RefundFailed]) -> None:
    e = msg.payload
    status = "approved" if e.will_retry else "failed"
    details = {"amount": e.amount.amount, "currency": e.amount.currency, "will_retry": e.will_retry}
    request = e.refund_request_id or e.refund_id
    await _refund_moved(unit, msg, request, status, "refund_failed", details)


async def on_stock_reserved(unit: Unit[Deps], msg: Incoming[lg.StockReserved]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    await steps.react(unit, msg, lambda o: reactions.stock_reserved(o, e.promised_ship_date, at))


async def on_shipping_promise_set(unit: Unit[Deps], msg: Incoming[lg.ShippingPromiseSet]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    plan = [parcel.model_dump(mode="json") for parcel in e.parcels]
    await steps.react(
        unit, msg, lambda o: reactions.ship_promised(o, e.promised_ship_date, at, plan)
    )


async def on_stock_shortage(unit: Unit[Deps], msg: Incoming[lg.StockRanShort]) -> None:
    short = [line.model_dump(mode="json") for line in msg.payload.lines]
    at = msg.envelope.occurred_at
    await steps.react(unit, msg, lambda o: reactions.stock_shortage(o, short, at))


def _backorder_lines(lines: tuple[lg.BackorderLine, ...]) -> list[dict[str, Any]]:
    return [line.model_dump(mode="json") for line in lines]


async def on_stock_backordered(unit: Unit[Deps], msg: Incoming[lg.StockBackordered]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    lines = _backorder_lines(e.lines)
    await steps.react(
        unit,
        msg,
        lambda o: backorder.backordered(
            o, lines, e.choose_by, e.default_choice, e.restock_expected, at
        ),
    )


async def on_backorder_waiting(unit: Unit[Deps], msg: Incoming[lg.BackorderWaiting]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    lines = _backorder_lines(e.lines)
    await steps.react(
        unit, msg, lambda o: backorder.waiting(o, lines, e.restock_expected, e.chosen_by, at)
    )


async def on_backorder_dropped(unit: Unit[Deps], msg: Incoming[lg.BackorderDropped]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    lines = _backorder_lines(e.dropped)
    await steps.react(unit, msg, lambda o: backorder.dropped(o, lines, e.chosen_by, at))


async def on_backorder_restock_changed(
    unit: Unit[Deps], msg: Incoming[lg.BackorderRestockDateChanged]
) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    lines, fact = _backorder_lines(e.lines), f"backorder_restock_changed:{msg.envelope.event_id}"
    await steps.react(
        unit, msg, lambda o: backorder.restock_changed(o, lines, e.restock_expected, at, fact)
    )


async def on_backorder_filled(unit: Unit[Deps], msg: Incoming[lg.BackorderFilled]) -> None:
    e = msg.payload
    lines = [line.model_dump(mode="json") for line in e.lines]
    await steps.react(unit, msg, lambda o: backorder.filled(o, lines, e.filled_at))


async def on_shipment_shipped(unit: Unit[Deps], msg: Incoming[lg.ShipmentShipped]) -> None:
    e = msg.payload
    shipment = e.model_dump(
        mode="json", include={"shipment_id", "courier", "tracking_number", "address", "shipped_at"}
    )
    if e.lines:  # the parcel's goods; logistics' list of the parcels told them already
        shipment["lines"] = [
            {"line_id": line.line_id, "sku": line.sku, "quantity": line.quantity}
            for line in e.lines
        ]
    details = {"courier": e.courier, "tracking_number": e.tracking_number}
    entry = Entry(f"shipped:{e.shipment_id}", e.shipped_at, "shipped", details)
    await _shipment_moved(unit, msg, shipment | _number(e.parcel), entry)


async def on_checkpoint_reached(unit: Unit[Deps], msg: Incoming[lg.CheckpointReached]) -> None:
    e = msg.payload
    key = f"checkpoint:{e.shipment_id}:{e.checkpoint_at.isoformat()}:{e.status}"
    details = {"city": e.city, "status": e.status, "description": e.description}
    await _shipment_moved(unit, msg, _parcel(e), Entry(key, e.checkpoint_at, "checkpoint", details))


async def on_out_for_delivery(
    unit: Unit[Deps], msg: Incoming[lg.ShipmentWentOutForDelivery]
) -> None:
    e = msg.payload
    key = f"out_for_delivery:{e.shipment_id}"
    entry = Entry(key, e.checkpoint_at, "out_for_delivery", {"city": e.city})
    await _shipment_moved(unit, msg, _parcel(e), entry)


async def on_shipment_delivered(unit: Unit[Deps], msg: Incoming[lg.ShipmentDelivered]) -> None:
    e = msg.payload
    entry = Entry(f"delivered:{e.shipment_id}", e.delivered_at, "delivered", {"city": e.city})
    shipment = _parcel(e) | _number(e.parcel) | {"delivered_at": e.delivered_at.isoformat()}
    after = _confirm_after(unit)
    await steps.react(unit, msg, lambda o: reactions.delivered(o, shipment, entry, after))


def _parcel(e: lg.ParcelFact) -> dict[str, Any]:
    return {
        "shipment_id": e.shipment_id,
        "courier": e.courier,
        "tracking_number": e.tracking_number,
    }


def _number(parcel: lg.ParcelNumber | None) -> dict[str, Any]:
    """Which of the order's parcels an event is about, when it says (absent before parcels
    were told: the order's list, or its one parcel, says it)."""
    return {} if parcel is None else {"number": parcel.number, "of": parcel.of}


def _confirm_after(unit: Unit[Deps]) -> timedelta:
    """How long after its last parcel arrived a delivered order confirms itself."""
    return timedelta(seconds=unit.deps.settings.auto_confirm_seconds)


async def _shipment_moved(
    unit: Unit[Deps], msg: Incoming[Any], shipment: dict[str, Any], entry: Entry
) -> None:
    await steps.react(
        unit, msg, lambda o: reactions.shipment_moved(o, Stage.SHIPPED, shipment, entry)
    )


async def on_shipment_delayed(unit: Unit[Deps], msg: Incoming[lg.ShipmentDelayed]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    await steps.react(unit, msg, lambda o: reactions.delayed(o, e.reason, e.new_expected_date, at))


async def on_delay_announced(unit: Unit[Deps], msg: Incoming[lg.ShipmentDelayAnnounced]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    details = e.model_dump(
        mode="json",
        include={"cause", "stage", "shipment_id", "courier", "previous_date", "new_expected_date"},
    )
    entry = Entry(f"delay_announced:{e.delay_id}:{e.shipment_id}", at, "delay_announced", details)
    new_date = e.new_expected_date
    await steps.react(unit, msg, lambda o: reactions.delay_announced(o, e.stage, new_date, entry))


async def on_shipment_cancelled(unit: Unit[Deps], msg: Incoming[lg.ShipmentCancelled]) -> None:
    at, details = msg.envelope.occurred_at, {"reason": msg.payload.reason}
    await _noted(unit, msg, "shipment_cancelled", at, "shipment_cancelled", details)


async def on_shipment_refused(unit: Unit[Deps], msg: Incoming[lg.ShipmentRefused]) -> None:
    e = msg.payload
    details = _parcel(e) | {"reason": e.reason, "city": e.city, "description": e.description}
    entry = Entry(f"parcel_refused:{e.shipment_id}", e.refused_at, "parcel_refused", details)
    after = _confirm_after(unit)
    await steps.react(unit, msg, lambda o: reactions.refused(o, e.reason, entry, after))


async def on_returned_to_shop(unit: Unit[Deps], msg: Incoming[lg.ShipmentReturnedToShop]) -> None:
    e = msg.payload
    key = f"returned_to_shop:{e.shipment_id}"
    entry = Entry(key, e.returned_at, "returned_to_shop", _parcel(e))
    after = _confirm_after(unit)
    await steps.react(unit, msg, lambda o: reactions.returned_to_shop(o, entry, after))


async def on_shipment_picked(unit: Unit[Deps], msg: Incoming[lg.ShipmentPicked]) -> None:
    e = msg.payload
    details = {"shipment_id": e.shipment_id}
    await _noted(unit, msg, f"picked:{e.shipment_id}", e.picked_at, "picked", details)


async def on_shipment_packed(unit: Unit[Deps], msg: Incoming[lg.ShipmentPacked]) -> None:
    e = msg.payload
    details = {"shipment_id": e.shipment_id, "parcels": e.parcels}
    await _noted(unit, msg, f"packed:{e.shipment_id}", e.packed_at, "packed", details)


def _refund_details(e: rt.RefundRequested | rt.RefundApproved) -> dict[str, Any]:
    return {"amount": e.amount.amount, "currency": e.amount.currency, "flow": e.flow.value}


async def on_refund_requested(unit: Unit[Deps], msg: Incoming[rt.RefundRequested]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    details = _refund_details(e) | {"reason": e.reason}
    rid, flow = e.refund_request_id, e.flow.value
    await steps.react(unit, msg, lambda o: reactions.refund_requested(o, rid, flow, at, details))


async def on_refund_approved(unit: Unit[Deps], msg: Incoming[rt.RefundApproved]) -> None:
    e = msg.payload
    details = _refund_details(e)
    await _refund_moved(unit, msg, e.refund_request_id, "approved", "refund_approved", details)


async def on_refund_rejected(unit: Unit[Deps], msg: Incoming[rt.RefundRejected]) -> None:
    e = msg.payload
    details = {"reason": e.reason}
    await _refund_moved(unit, msg, e.refund_request_id, "rejected", "refund_rejected", details)


async def _refund_moved(
    unit: Unit[Deps],
    msg: Incoming[Any],
    request: str,
    status: str,
    kind: str,
    details: dict[str, Any],
) -> None:
    at = msg.envelope.occurred_at
    await steps.react(
        unit, msg, lambda o: reactions.refund_step(o, request, status, at, kind, details)
    )


async def on_return_shipped(unit: Unit[Deps], msg: Incoming[rt.ReturnShipped]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    details = {"courier": e.courier, "tracking_number": e.tracking_number}
    await _noted(unit, msg, f"return_shipped:{e.refund_request_id}", at, "return_shipped", details)


async def on_return_received(unit: Unit[Deps], msg: Incoming[rt.ReturnReceived]) -> None:
    e = msg.payload
    key = f"return_received:{e.refund_request_id}"
    await _noted(unit, msg, key, e.received_at, "return_received", {})


async def _noted(
    unit: Unit[Deps],
    msg: Incoming[Any],
    key: str,
    at: datetime,
    kind: str,
    details: dict[str, Any],
) -> None:
    await steps.react(unit, msg, lambda o: reactions.noted(o, key, at, kind, details))


async def on_payment_window(unit: Unit[Deps], timer: Timer) -> None:
    await steps.change(unit, timer.key, lambda o: domain.payment_window_expired(o, unit.now))


async def on_auto_confirm(unit: Unit[Deps], timer: Timer) -> None:
    """Completes a delivered order, or re-arms itself (same key) while a refund is open.
    Timers set before re-arming kept its key were keyed `<order id>/<n>`: still read."""
    order_id = timer.key.partition("/")[0]
    settings = unit.deps.settings
    hold_until = unit.now + timedelta(seconds=settings.auto_confirm_seconds)
    review_url = settings.review_url(order_id)
    await steps.change(
        unit, order_id, lambda o: domain.auto_confirm_due(o, unit.now, hold_until, review_url)
    )


HANDLERS: Handlers = {
    pm.PaymentRequested: on_payment_requested,
    pm.PaymentSucceeded: on_payment_succeeded,
    pm.PaymentFailed: on_payment_failed,
    pm.RefundPaid: on_refund_paid,
    pm.RefundFailed: on_refund_failed,
    pm.ExchangePaymentSucceeded: exchanges.on_exchange_paid,
    lg.StockReserved: on_stock_reserved,
    lg.StockRanShort: on_stock_shortage,
    lg.StockShortage: on_stock_shortage,  # retired v1, still on the topic
    lg.StockBackordered: on_stock_backordered,
    lg.BackorderWaiting: on_backorder_waiting,
    lg.BackorderDropped: on_backorder_dropped,
    lg.BackorderFilled: on_backorder_filled,
    lg.BackorderRestockDateChanged: on_backorder_restock_changed,
    lg.ShippingPromiseSet: on_shipping_promise_set,
    lg.ShipmentPicked: on_shipment_picked,
    lg.ShipmentPacked: on_shipment_packed,
    lg.ShipmentShipped: on_shipment_shipped,
    lg.CheckpointReached: on_checkpoint_reached,
    lg.ShipmentWentOutForDelivery: on_out_for_delivery,
    lg.ShipmentOutForDelivery: on_out_for_delivery,  # retired v1, still on the topic
    lg.ShipmentDelivered: on_shipment_delivered,
    lg.ShipmentDelayed: on_shipment_delayed,
    lg.ShipmentDelayAnnounced: on_delay_announced,
    lg.ShipmentCancelled: on_shipment_cancelled,
    lg.ShipmentRefused: on_shipment_refused,
    lg.ShipmentReturnedToShop: on_returned_to_shop,
    lg.ExchangeShipped: exchanges.on_exchange_shipped,
    lg.ExchangeDelivered: exchanges.on_exchange_delivered,
    rt.RefundRequested: on_refund_requested,
    rt.RefundApproved: on_refund_approved,
    rt.RefundRejected: on_refund_rejected,
    rt.ReturnShipped: on_return_shipped,
    rt.ReturnReceived: on_return_received,
    # an exchange's steps only join the timeline: the order's state never changes for them
    rt.ExchangeRequested: exchanges.on_exchange_requested,
    rt.ExchangeAccepted: exchanges.on_exchange_accepted,
    rt.ExchangeRefused: exchanges.on_exchange_refused,
    rt.ExchangeReturnReceived: exchanges.on_exchange_return_received,
    rt.ExchangeCancelled: exchanges.on_exchange_cancelled,
}

TIMERS: Mapping[str, TimerHandler] = {
    domain.PAYMENT_WINDOW: on_payment_window,
    domain.AUTO_CONFIRM: on_auto_confirm,
}

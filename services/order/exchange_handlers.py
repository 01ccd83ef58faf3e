"""The order's handlers of an exchange's events (routed in handlers.py): each puts the step
on the timeline (domain.exchanges) and changes nothing else of the order."""

from __future__ import annotations

from typing import Any

from services.order import steps
from services.order.deps import Deps
from services.order.domain import exchanges as ex
from shared.contracts.envelope import Money
from shared.contracts.events import logistics as lg
from shared.contracts.events import payment as pm
from shared.contracts.events import returns as rt
from shared.contracts.events.common import ExchangeItem, LineQuantity
from shared.messages import Incoming
from shared.unit import Unit


def _units(lines: tuple[LineQuantity, ...]) -> list[dict[str, Any]]:
    return [line.model_dump(mode="json") for line in lines]


def _item(item: ExchangeItem) -> dict[str, Any]:
    return item.model_dump(mode="json", include={"sku", "name", "variant", "quantity"})


def _money(value: Money) -> dict[str, Any]:
    return {"amount": value.amount, "currency": value.currency}


async def on_exchange_requested(unit: Unit[Deps], msg: Incoming[rt.ExchangeRequested]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    details = {"replacement_sku": e.replacement_sku, "reason": e.reason}
    lines = _units((e.line,))
    kind = ex.REQUESTED
    await steps.react(
        unit, msg, lambda o: ex.with_lines(o, kind, e.exchange_id, at, lines, details)
    )


async def on_exchange_accepted(unit: Unit[Deps], msg: Incoming[rt.ExchangeAccepted]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    details = _money(e.difference) | {
        "replacement": _item(e.replacement),
        "settlement": e.settlement,
        "ships": e.ships,
        "return_shipping_paid_by": e.return_shipping_paid_by,
        "pay_by": e.pay_by.isoformat() if e.pay_by else None,
    }
    lines = _units((e.line,))
    kind = ex.ACCEPTED
    await steps.react(
        unit, msg, lambda o: ex.with_lines(o, kind, e.exchange_id, at, lines, details)
    )


async def on_exchange_refused(unit: Unit[Deps], msg: Incoming[rt.ExchangeRefused]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    details = {"reason": e.reason, "message": e.message}
    await steps.react(unit, msg, lambda _: ex.step(ex.REFUSED, e.exchange_id, at, details))


async def on_exchange_paid(unit: Unit[Deps], msg: Incoming[pm.ExchangePaymentSucceeded]) -> None:
    e = msg.payload
    details = _money(e.amount) | {"attempt_id": e.attempt_id}
    await steps.react(unit, msg, lambda _: ex.step(ex.PAID, e.exchange_id, e.paid_at, details))


async def on_exchange_return_received(
    unit: Unit[Deps], msg: Incoming[rt.ExchangeReturnReceived]
) -> None:
    e = msg.payload
    lines, kind, at = _units(e.lines), ex.RETURN_RECEIVED, e.received_at
    await steps.react(unit, msg, lambda o: ex.with_lines(o, kind, e.exchange_id, at, lines, {}))


async def on_exchange_shipped(unit: Unit[Deps], msg: Incoming[lg.ExchangeShipped]) -> None:
    e = msg.payload
    details = {
        "shipment_id": e.shipment_id,
        "courier": e.courier,
        "tracking_number": e.tracking_number,
        "replacement": _item(e.replacement),
    }
    await steps.react(
        unit, msg, lambda _: ex.step(ex.SHIPPED, e.exchange_id, e.shipped_at, details)
    )


async def on_exchange_delivered(unit: Unit[Deps], msg: Incoming[lg.ExchangeDelivered]) -> None:
    e = msg.payload
    details = {
        "shipment_id": e.shipment_id,
        "courier": e.courier,
        "tracking_number": e.tracking_number,
    }
    await steps.react(
        unit, msg, lambda _: ex.step(ex.DELIVERED, e.exchange_id, e.delivered_at, details)
    )


async def on_exchange_cancelled(unit: Unit[Deps], msg: Incoming[rt.ExchangeCancelled]) -> None:
    e, at = msg.payload, msg.envelope.occurred_at
    details = {"reason": e.reason}
    await steps.react(unit, msg, lambda _: ex.step(ex.CANCELLED, e.exchange_id, at, details))

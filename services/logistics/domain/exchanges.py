"""Exchanges: units of a delivered line swapped for another variant of the same product.
Pure.

The replacement is held when the exchange is asked (`hold`): its SKU must be stocked, be
the same product as the line's (the stock rows' `name` equal, another SKU) and have the
units free: an exchange never takes units held for orders, nor units the backorder queue
waits for, and never joins that queue itself. It is held in one warehouse (one parcel),
priced at the catalogue's latest price, else the line's own unit price (`price`).

Once returns releases it, the replacement leaves in a parcel of its own (`parcel`),
booked at once with the courier (with warehouse steps on too: see docs/logistics.md).
An exchange's parcel is tracked as any parcel, but it is not one of the order's: nothing
about the order is told of it (`quiet`), and it changes neither the order's state nor
its promise, delays or silence watch. Its delivery is told of the exchange instead
(ExchangeDelivered), once per parcel, as tracking announces a delivery once.

state: held -> shipping (the courier's booking made after commit) -> shipped; held ->
released (cancelled); unavailable (refused, nothing held).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal

from services.logistics.domain.shipping import Outcome, ParcelStatus, Shipment, Timing
from shared.contracts.envelope import Money
from shared.contracts.events.common import ExchangeItem
from shared.contracts.events.logistics import ExchangeDelivered, ShipmentDelivered

State = Literal["unavailable", "held", "released", "shipping", "shipped"]
HOLDING = ("held", "shipping")  # the states whose units are counted as reserved
Unavailable = Literal["unknown_sku", "not_same_product", "out_of_stock"]


@dataclass(frozen=True)
class Exchange:
    exchange_id: str
    order_id: str
    state: State
    sku: str
    quantity: int
    warehouse: str | None = None
    replacement: ExchangeItem | None = None
    reason: str | None = None
    shipment_id: str | None = None


@dataclass(frozen=True)
class Shelf:
    """One stock row of a SKU as an exchange sees it."""

    sku: str
    warehouse: str
    name: str | None
    variant: str | None
    available: int


@dataclass(frozen=True)
class Refusal:
    reason: Unavailable
    message: str


@dataclass(frozen=True)
class Hold:
    sku: str
    warehouse: str
    quantity: int
    name: str
    variant: str | None


def product_name(rows: Sequence[Shelf]) -> str | None:
    """The product a SKU's stock rows name (the first warehouse's that names one)."""
    return next((r.name for r in rows if r.name), None)


def hold(
    line_sku: str,
    line_name: str | None,
    sku: str,
    quantity: int,
    rows: Sequence[Shelf],
    owed: int,
) -> Hold | Refusal:
    """Where the replacement `sku` is held for an exchange of `line_sku` (named
    `line_name`), or why it cannot be. `rows`: the replacement's stock rows; `owed`: its
    units the backorder queue still waits for, which come first. The warehouse holding
    the most of it free that holds all of it alone (then by name)."""
    if not rows:
        return Refusal("unknown_sku", f"{sku} is not in the catalogue")
    name = product_name(rows)
    if sku == line_sku or name is None or name != line_name:
        return Refusal("not_same_product", f"{sku} is not another variant of {line_sku}")
    free = sum(max(0, r.available) for r in rows) - owed
    alone = [r for r in rows if r.available >= quantity]
    if free < quantity or not alone:
        return Refusal("out_of_stock", f"{quantity} of {sku} are not in stock")
    chosen = min(alone, key=lambda r: (-r.available, r.warehouse))
    variant = next((r.variant for r in rows if r.variant), None)
    return Hold(sku, chosen.warehouse, quantity, name, variant)


def price(
    latest: Money | None, lines: Sequence[Mapping[str, Any]], line_id: str, line_sku: str
) -> Money:
    """The replacement's price each: the catalogue's latest, else the exchanged line's own
    unit price as the order was placed. LookupError when there is neither."""
    if latest is not None:
        return latest
    line = next((x for x in lines if x.get("line_id") == line_id), None)
    line = line or next((x for x in lines if x.get("sku") == line_sku), None)
    if line is None:
        raise LookupError(f"no price for the exchange: line {line_id} is not the order's")
    return Money.model_validate(line["unit_price"])


def item(held: Hold, unit_price: Money) -> ExchangeItem:
    return ExchangeItem(
        sku=held.sku,
        name=held.name,
        variant=held.variant,
        quantity=held.quantity,
        unit_price=unit_price,
    )


def parcel_line(exchange_id: str, replacement: ExchangeItem) -> dict[str, Any]:
    """The replacement as a parcel's goods are kept (an order line's shape)."""
    return {
        "line_id": exchange_id,
        "sku": replacement.sku,
        "name": replacement.name,
        "variant": replacement.variant,
        "quantity": replacement.quantity,
        "unit_price": replacement.unit_price.model_dump(mode="json"),
    }


def parcel(
    exchange: Exchange, shipment_id: str, courier: str, now: datetime, today: date
) -> Shipment:
    """The parcel the replacement of a held exchange leaves in, pending its booking."""
    assert exchange.replacement is not None, "a held exchange has its replacement"
    return Shipment(
        shipment_id=shipment_id,
        order_id=exchange.order_id,
        status=ParcelStatus.PENDING,
        courier=courier,
        tracking_number=None,
        cash_on_delivery=None,
        promised_ship_date=today,
        expected_date=today,
        created_at=now,
        shipped_at=None,
        delivered_at=None,
        last_checkpoint_at=None,
        warehouse=exchange.warehouse,
        lines=[parcel_line(exchange.exchange_id, exchange.replacement)],
        exchange_id=exchange.exchange_id,
    )


def shipped(shipment: Shipment, tracking: str, now: datetime, timing: Timing) -> Shipment:
    """The courier took the exchange's parcel: on its way, with no silence watch."""
    calendar = timing.calendar
    expected = calendar.add_working_days(calendar.local_date(now), timing.delivery_days)
    return replace(
        shipment,
        status=ParcelStatus.SHIPPED,
        tracking_number=tracking,
        shipped_at=now,
        expected_date=expected,
    )


def quiet(outcome: Outcome, exchange_id: str) -> Outcome:
    """What tracking decided of exchange `exchange_id`'s parcel, kept to the parcel itself:
    its status and timeline move, its goods come back on the shelf if it comes back, but no
    order's fact is told, no promise moves and no timer watches it. Its delivery (told at
    most once: a repeated or late delivery checkpoint announces nothing) is the exchange's
    ExchangeDelivered."""
    told = [
        ExchangeDelivered(
            exchange_id=exchange_id,
            shipment_id=event.shipment_id,
            courier=event.courier,
            tracking_number=event.tracking_number,
            delivered_at=event.delivered_at,
        )
        for event in outcome.events
        if isinstance(event, ShipmentDelivered)
    ]
    return Outcome(shipment=outcome.shipment, restock=outcome.restock, events=list(told))

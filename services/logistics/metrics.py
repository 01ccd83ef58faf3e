"""Prometheus metrics of the logistics service, beside the shared ones in shared/metrics.py.

Each is counted or observed once its unit commits (`Unit.after_commit`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Histogram

from shared.contracts.envelope import Event
from shared.contracts.events.logistics import (
    ShipmentDelayAnnounced,
    ShipmentDelayed,
    ShipmentRefused,
    ShipmentReturnedToShop,
)
from shared.unit import Unit

# From a few minutes (a warehouse on time) to several days (a promise missed).
_DAYS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800, 259200, 432000)
_SECONDS = (0.5, 1, 2.5, 5, 10, 30)  # the demo's accelerated clock and the tests

PAY_TO_SHIP = Histogram(
    "fulfil_pay_to_ship_duration_seconds",
    "From the payment (as logistics was told it) to the parcel handed to the courier",
    buckets=(*_SECONDS, *_DAYS),
)
SHIP_TO_DELIVER = Histogram(
    "fulfil_ship_to_deliver_duration_seconds",
    "From the parcel handed to the courier to its delivery",
    buckets=(*_SECONDS, *_DAYS),
)
SHIPPED = Counter(
    "fulfil_shipments_shipped_total", "Parcels handed to the courier (cash on delivery too)"
)
STOCK_OUTS = Counter(
    "fulfil_stock_outs_total", "Orders that ran short of stock (at placement or by a recount)"
)
DELAYS_ANNOUNCED = Counter(
    "fulfil_delays_announced_total", "Delays told to the customer, by cause", ["cause"]
)
REFUSALS = Counter(
    "fulfil_shipments_refused_total",
    "Parcels that go back to the shop, by reason: refused at the door, or undeliverable",
    ["reason"],
)
BACKORDERS = Counter(
    "fulfil_backorders_total",
    "Orders partly out of stock, by step: opened (what was there held), dropped (shipped what"
    " was there), waiting (for the restock) and filled (by goods back or received); dropped"
    " and waiting also by who chose (customer, or the deadline's default)",
    ["step", "chosen_by"],
)
RETURNED_TO_SHOP = Counter(
    "fulfil_shipments_returned_to_shop_total",
    "Parcels that went back to the shop and were received there, their goods restocked",
)


def shipped(unit: Unit[Any], paid_at: datetime | None) -> None:
    """A parcel left at `unit.now`; its time from payment when it was paid before leaving."""
    unit.after_commit(SHIPPED.inc)
    if paid_at is not None:
        seconds = max(0.0, (unit.now - paid_at).total_seconds())
        unit.after_commit(lambda: PAY_TO_SHIP.observe(seconds))


def delivered(unit: Unit[Any], shipped_at: datetime | None, delivered_at: datetime) -> None:
    if shipped_at is not None:
        seconds = max(0.0, (delivered_at - shipped_at).total_seconds())
        unit.after_commit(lambda: SHIP_TO_DELIVER.observe(seconds))


def backorder(unit: Unit[Any], step: str, chosen_by: str = "") -> None:
    """A backorder took `step` (opened, dropped, waiting, filled) in this unit."""
    unit.after_commit(BACKORDERS.labels(step, chosen_by).inc)


def delays(unit: Unit[Any], events: Iterable[Event]) -> None:
    """Counts the delays among the events a step publishes: by the reason a parcel is late
    (ShipmentDelayed), or `announced` by operations (ShipmentDelayAnnounced)."""
    for event in events:
        if isinstance(event, ShipmentDelayed):
            unit.after_commit(DELAYS_ANNOUNCED.labels(event.reason).inc)
        elif isinstance(event, ShipmentDelayAnnounced):
            unit.after_commit(DELAYS_ANNOUNCED.labels("announced").inc)


def returns(unit: Unit[Any], events: Iterable[Event]) -> None:
    """Counts the parcels turned back and those back at the shop among the events."""
    for event in events:
        if isinstance(event, ShipmentRefused):
            unit.after_commit(REFUSALS.labels(event.reason).inc)
        elif isinstance(event, ShipmentReturnedToShop):
            unit.after_commit(RETURNED_TO_SHOP.inc)

"""Stock rules: allocation, recount, low-stock crossing; and the order logistics keeps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from shared.contracts.events.common import PaymentMethod


@dataclass(frozen=True)
class Fulfilment:
    """What logistics knows of an order. state: placed (taken, its held events not yet
    handled) | reserved | backordered (some units short, what is there held:
    domain.backorders) | short | shipped | released | cancelled."""

    order_id: str
    state: str
    payment_method: str | None
    lines: list[dict[str, Any]]
    address: dict[str, Any] | None
    total: dict[str, Any] | None
    correlation_id: str | None
    placed_at: datetime | None
    paid_at: datetime | None
    promised_ship_date: date | None
    phone: str | None = None  # the contact's, for a label without the address's own
    requested_courier: str | None = None  # chosen at checkout; None: logistics picks
    courier_fee: dict[str, Any] | None = None  # the surcharge paid for it (Money as JSON)
    gift_message: str | None = None  # the customer's, for the packing slip
    locale: str | None = None  # the order's language (the packing slip's)


def ships_from(
    order: Fulfilment, has_shipment: bool, paid_at: datetime | None, now: datetime
) -> datetime | None:
    """When a reserved order without a shipment is judged to ship from: its payment, or
    now for cash on delivery; None while it waits (unpaid, not reserved, or opened)."""
    if order.state != "reserved" or has_shipment:
        return None
    paid_at = paid_at or order.paid_at
    if order.payment_method == PaymentMethod.CASH_ON_DELIVERY:
        return paid_at or now
    return paid_at


@dataclass(frozen=True)
class StockLevel:
    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    threshold: int = 0
    warned: bool = False

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class Allocation:
    sku: str
    warehouse: str
    quantity: int


@dataclass(frozen=True)
class Shortfall:
    sku: str
    requested: int
    available: int


def wanted_per_sku(lines: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Quantities per SKU (an order may hold the same SKU on several lines)."""
    wanted: dict[str, int] = {}
    for sku, quantity in lines:
        wanted[sku] = wanted.get(sku, 0) + quantity
    return wanted


def allocate(
    wanted: Mapping[str, int], levels: Sequence[StockLevel]
) -> tuple[list[Allocation], list[Shortfall]]:
    """Reserves everything or nothing: the allocations, or the SKUs that fall short.

    Each warehouse an order takes from is one more parcel, so the fewest are used: one
    warehouse that holds the whole order (the one with the most of it available first);
    otherwise a SKU comes from a warehouse the order already takes from when that one holds
    enough of it, else from the warehouse with the most available first, split over several
    when none holds enough alone.
    """
    by_sku: dict[str, list[StockLevel]] = {}
    for level in levels:
        by_sku.setdefault(level.sku, []).append(level)
    shortfalls = [
        Shortfall(sku, quantity, sum(max(0, lv.available) for lv in by_sku.get(sku, [])))
        for sku, quantity in sorted(wanted.items())
        if sum(max(0, lv.available) for lv in by_sku.get(sku, [])) < quantity
    ]
    if shortfalls:
        return [], shortfalls
    whole = _whole_order_warehouse(wanted, levels)
    if whole is not None:
        return [Allocation(sku, whole, quantity) for sku, quantity in sorted(wanted.items())], []
    allocations: list[Allocation] = []
    used: set[str] = set()
    for sku, quantity in sorted(wanted.items()):
        remaining = quantity

        def preference(lv: StockLevel, quantity: int = quantity) -> tuple[bool, int, str]:
            return (
                not (lv.warehouse in used and lv.available >= quantity),
                -lv.available,
                lv.warehouse,
            )

        for level in sorted(by_sku[sku], key=preference):
            take = min(remaining, level.available)
            if take > 0:
                allocations.append(Allocation(sku, level.warehouse, take))
                used.add(level.warehouse)
                remaining -= take
            if remaining == 0:
                break
    return allocations, []


def _whole_order_warehouse(wanted: Mapping[str, int], levels: Sequence[StockLevel]) -> str | None:
    """The warehouse that alone holds every SKU wanted, the one with the most of them
    available first (then by name); None when none does."""
    available: dict[str, dict[str, int]] = {}
    for level in levels:
        available.setdefault(level.warehouse, {})[level.sku] = level.available
    whole = [
        (-sum(held[sku] for sku in wanted), warehouse)
        for warehouse, held in available.items()
        if all(held.get(sku, 0) >= quantity for sku, quantity in wanted.items())
    ]
    return min(whole)[1] if whole else None


@dataclass(frozen=True)
class Count:
    """A SKU counted on one warehouse's shelf, with its low-stock threshold (and names)."""

    sku: str
    warehouse: str
    on_hand: int
    threshold: int
    name: str | None = None
    variant: str | None = None


@dataclass(frozen=True)
class Holding:
    """Units one order holds on one stock row."""

    order_id: str
    quantity: int


@dataclass(frozen=True)
class Withdrawal:
    holding: Holding
    available: int  # what the new count still had for this order when its turn came


def recount(on_hand: int, holdings: Sequence[Holding]) -> list[Withdrawal]:
    """A count found short: the holdings that no longer fit, given oldest reservation first.

    Orders keep their units in the order they reserved them; one whose units no longer
    fit in what the count leaves is withdrawn. So the newest orders go first, and an
    older one only when it cannot be served from the new count even alone.
    """
    left, withdrawn = on_hand, []
    for holding in holdings:
        if holding.quantity <= left:
            left -= holding.quantity
        else:
            withdrawn.append(Withdrawal(holding, left))
    return withdrawn


class CountBelowParcels(Exception):
    """A count below the units of parcels already handed to the courier: those are not
    on the shelf to be counted, so the count cannot be right. Nothing is recorded."""

    def __init__(self, sku: str, warehouse: str, on_hand: int, in_parcels: int) -> None:
        super().__init__(
            f"{sku} in {warehouse}: on_hand {on_hand} leaves out {in_parcels} units"
            " of parcels already handed to the courier"
        )
        self.in_parcels = in_parcels


LowStockChange = Literal["warn", "clear"] | None


def low_stock_change(available: int, threshold: int, warned: bool) -> LowStockChange:
    """Once per downward crossing: warn when it falls under, clear when back at/over."""
    if available < threshold and not warned:
        return "warn"
    if available >= threshold and warned:
        return "clear"
    return None

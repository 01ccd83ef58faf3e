"""The logistics service's business rules: pure functions and values, no I/O.

Stock: all-or-nothing allocation of an order's lines over the warehouses, the
orders a short recount withdraws, and the low-stock crossing. Shipping: the
promise (cut-off, working days, holidays), the courier choice, and how tracking
checkpoints move a parcel forward (never backwards).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

# --- stock -----------------------------------------------------------------


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

    A SKU is taken from the warehouse with the most available first, and may be
    split over several warehouses when none holds enough alone.
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
    allocations = []
    for sku, quantity in sorted(wanted.items()):
        remaining = quantity
        for level in sorted(by_sku[sku], key=lambda lv: (-lv.available, lv.warehouse)):
            take = min(remaining, level.available)
            if take > 0:
                allocations.append(Allocation(sku, level.warehouse, take))
                remaining -= take
            if remaining == 0:
                break
    return allocations, []


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


LowStockChange = Literal["warn", "clear"] | None


def low_stock_change(available: int, threshold: int, warned: bool) -> LowStockChange:
    """Once per downward crossing: warn when it falls under, clear when back at/over."""
    if available < threshold and not warned:
        return "warn"
    if available >= threshold and warned:
        return "clear"
    return None


# --- the shipping promise ----------------------------------------------------


@dataclass(frozen=True)
class ShippingCalendar:
    """The shop's dispatch rules: paid before the cut-off on a working day ships that day."""

    time_zone: ZoneInfo
    cutoff: time
    working_days: frozenset[int]  # ISO weekdays, Monday = 1
    holidays: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        return day.isoweekday() in self.working_days and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        if not self.working_days:
            raise ValueError("a shipping calendar needs at least one working day")
        candidate = day + timedelta(days=1)
        while not self.is_working_day(candidate):
            candidate += timedelta(days=1)
        return candidate

    def add_working_days(self, day: date, count: int) -> date:
        for _ in range(count):
            day = self.next_working_day(day)
        return day

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.time_zone).date()

    def promised_ship_date(self, paid_at: datetime) -> date:
        local = paid_at.astimezone(self.time_zone)
        if self.is_working_day(local.date()) and local.time() < self.cutoff:
            return local.date()
        return self.next_working_day(local.date())

    def ship_by(self, promised: date) -> datetime:
        """When an unshipped order has missed its promise: the promised day's cut-off."""
        return datetime.combine(promised, self.cutoff, tzinfo=self.time_zone)

    def later_date(self, previous: date, now: datetime) -> date:
        """The new expected date once `previous` cannot be kept: the next working day
        after whichever is later, the old date or today."""
        return self.next_working_day(max(previous, self.local_date(now)))


# --- shipments and tracking --------------------------------------------------


class ParcelStatus(StrEnum):
    PENDING = "pending"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class CheckpointStatus(StrEnum):
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"


_PROGRESS = {
    ParcelStatus.SHIPPED: 0,
    ParcelStatus.IN_TRANSIT: 1,
    ParcelStatus.OUT_FOR_DELIVERY: 2,
    ParcelStatus.DELIVERED: 3,
}

Announcement = Literal["checkpoint", "out_for_delivery", "delivered"] | None


@dataclass(frozen=True)
class Tracking:
    status: ParcelStatus
    announce: Announcement


def track(current: ParcelStatus, checkpoint: CheckpointStatus) -> Tracking:
    """What a new checkpoint does to a parcel: status only moves forward; a late or
    out-of-order checkpoint still joins the timeline; a second delivery is no news."""
    if current not in _PROGRESS:
        raise ValueError(f"a {current} parcel takes no checkpoints")
    if checkpoint is CheckpointStatus.EXCEPTION:
        return Tracking(current, "checkpoint")
    reached = ParcelStatus(checkpoint.value)
    if current is ParcelStatus.DELIVERED:
        return Tracking(current, None if reached is ParcelStatus.DELIVERED else "checkpoint")
    if _PROGRESS[reached] < _PROGRESS[current]:
        return Tracking(current, "checkpoint")
    if reached is ParcelStatus.DELIVERED:
        return Tracking(reached, "delivered")
    if reached is ParcelStatus.OUT_FOR_DELIVERY:
        return Tracking(reached, "out_for_delivery")
    return Tracking(reached, "checkpoint")


def is_open(status: ParcelStatus) -> bool:
    """A parcel still on its way (delay checks apply)."""
    return status in (
        ParcelStatus.PENDING,
        ParcelStatus.SHIPPED,
        ParcelStatus.IN_TRANSIT,
        ParcelStatus.OUT_FOR_DELIVERY,
    )


def choose_courier(
    region: str | None, couriers: Sequence[str], by_region: Mapping[str, str], turn: int
) -> str:
    """The region's courier when a rule names one, otherwise the next in the rotation."""
    if not couriers:
        raise ValueError("no courier configured")
    if region:
        rules = {name.casefold(): courier for name, courier in by_region.items()}
        chosen = rules.get(region.casefold())
        if chosen is not None:
            return chosen
    return couriers[turn % len(couriers)]

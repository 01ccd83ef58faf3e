"""Shipping rules: the promise, the courier choice, the parcel and its tracking.

The decisions about one shipment (`domain.shipments`) return an `Outcome`: the shipment
as it becomes, the promise to record, the booking to make, the timers, the events; the
steps save it once (`repository.record`).

Timer kinds: `ship` (a delayed dispatch, key order id), `ship_by` (key
`<order id>:<expected ship date>`, one per promise), `checkpoint_silence`
(key shipment id, re-armed by every checkpoint, stopped once the parcel is delivered or
goes back to the shop).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from shared.contracts.envelope import Event
from shared.contracts.events.common import LineQuantity

SHIP, SHIP_BY, SILENCE = "ship", "ship_by", "checkpoint_silence"
BOOKING = "carrier_booking"  # an effect (shared/effects.py), key shipment id


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


@dataclass(frozen=True)
class Timing:
    """The service's shipping settings a decision needs, in seconds (0 = not used)."""

    calendar: ShippingCalendar
    ship_delay_seconds: float
    ship_by_seconds: float
    checkpoint_silence_seconds: float
    delivery_days: int
    # the failed delivery attempt after which the courier is taken to give up (0: never)
    max_delivery_attempts: int = 3
    # parcels wait for the warehouse's hand-over (domain.warehouse), not the dispatch delay
    warehouse_steps: bool = False

    @property
    def waits(self) -> bool:
        """A paid parcel waits before its booking (the dispatch delay, or the warehouse's
        steps), watched meanwhile by its ship-by timer; otherwise it is booked at once."""
        return self.ship_delay_seconds > 0 or self.warehouse_steps

    def ship_by_due(self, expected: date, now: datetime) -> datetime:
        """When an unshipped parcel expected to leave on `expected` is late."""
        if self.ship_by_seconds > 0:
            return now + timedelta(seconds=self.ship_by_seconds)
        return self.calendar.ship_by(expected)

    def silence_due(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.checkpoint_silence_seconds)


class ParcelStatus(StrEnum):
    PENDING = "pending"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNING = "returning"  # refused or undeliverable: on its way back to the shop
    RETURNED = "returned"  # back at the shop, its goods on the shelf again


class CheckpointStatus(StrEnum):
    IN_TRANSIT = "in_transit"
    ARRIVED_IN_CITY = "arrived_in_city"  # in transit, in the recipient's city
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    FAILED_ATTEMPT = "failed_attempt"  # the courier could not deliver; it tries again
    REFUSED = "refused"  # the recipient refused the parcel at the door
    RETURNED = "returned"  # the courier sends the parcel back: on its way to the shop
    RETURNED_TO_SHOP = "returned_to_shop"  # back at the shop, signed for by it
    EXCEPTION = "exception"


# what a checkpoint says of the parcel's progress; the others only join its timeline
_REACHES = {
    CheckpointStatus.IN_TRANSIT: ParcelStatus.IN_TRANSIT,
    CheckpointStatus.ARRIVED_IN_CITY: ParcelStatus.IN_TRANSIT,
    CheckpointStatus.OUT_FOR_DELIVERY: ParcelStatus.OUT_FOR_DELIVERY,
    CheckpointStatus.DELIVERED: ParcelStatus.DELIVERED,
}


@dataclass(frozen=True)
class Shipment:
    shipment_id: str
    order_id: str
    status: ParcelStatus
    courier: str
    tracking_number: str | None
    cash_on_delivery: dict[str, Any] | None
    promised_ship_date: date
    expected_date: date
    created_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    last_checkpoint_at: datetime | None
    returned_at: datetime | None = None  # back at the shop
    # one of the order's parcels (domain.parcels): where it leaves from, its goods (as the
    # order's lines; None: all of them, as a shipment opened before parcels), its number
    warehouse: str | None = None
    lines: list[dict[str, Any]] | None = None
    parcel_number: int = 1
    parcel_count: int = 1
    # the exchange whose replacement this parcel carries (domain.exchanges): tracked as any
    # parcel, never one of its order's; None for the order's own parcels
    exchange_id: str | None = None

    def goods(self, order_lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The lines this parcel carries, given its order's."""
        return list(self.lines) if self.lines is not None else list(order_lines)


@dataclass(frozen=True)
class Checkpoint:
    checkpoint_id: str
    checkpoint_at: datetime
    city: str
    status: CheckpointStatus
    description: str
    # cash on delivery: what the courier's delivery report says was collected, when it says
    collected: dict[str, Any] | None = None


@dataclass
class Outcome:
    """What a shipping decision changes: `shipment` saved whole, the order's new
    `promise`, a courier `booking` to record (made after commit), `timers` by (kind, key)
    set to a due time or cancelled (None), the `events` about the order, and the goods
    of a parcel back at the shop to `restock` (once per shipment)."""

    shipment: Shipment | None = None
    promise: date | None = None
    booking: tuple[str, dict[str, Any]] | None = None  # (idempotency key, payload)
    timers: dict[tuple[str, str], datetime | None] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    restock: tuple[LineQuantity, ...] = ()

    def __iadd__(self, other: Outcome) -> Outcome:
        self.shipment = other.shipment or self.shipment
        self.promise = other.promise or self.promise
        self.booking = other.booking or self.booking
        self.timers.update(other.timers)
        self.events += other.events
        self.restock = other.restock or self.restock
        return self


def ship_by_key(order_id: str, expected: date) -> str:
    return f"{order_id}:{expected}"


_PROGRESS = {
    ParcelStatus.SHIPPED: 0,
    ParcelStatus.IN_TRANSIT: 1,
    ParcelStatus.OUT_FOR_DELIVERY: 2,
    ParcelStatus.DELIVERED: 3,
}

# refused and undeliverable: the parcel goes back to the shop (ShipmentRefused, its reason)
Announcement = (
    Literal["checkpoint", "out_for_delivery", "delivered", "refused", "undeliverable"] | None
)

# what turns a parcel on its way back to the shop, told as
_TURNS_BACK: dict[CheckpointStatus, Announcement] = {
    CheckpointStatus.REFUSED: "refused",
    CheckpointStatus.RETURNED: "undeliverable",
    CheckpointStatus.RETURNED_TO_SHOP: "undeliverable",  # back before we heard it turned
}
_GOING_BACK = (ParcelStatus.RETURNING, ParcelStatus.RETURNED)


@dataclass(frozen=True)
class Tracking:
    status: ParcelStatus
    announce: Announcement
    home: bool = False  # back at the shop: its goods go back on the shelf


def track(
    current: ParcelStatus, checkpoint: CheckpointStatus, *, last_attempt: bool = False
) -> Tracking:
    """What a new checkpoint does to a parcel: status only moves forward; a late or
    out-of-order checkpoint still joins the timeline; a second delivery is no news.

    A parcel on its way that is refused, sent back, or fails its `last_attempt` turns back
    to the shop (told once: later such steps only join the timeline); back at the shop it
    is home. A delivered parcel stays delivered whatever follows."""
    if current in _GOING_BACK:
        if current is ParcelStatus.RETURNING and checkpoint is CheckpointStatus.RETURNED_TO_SHOP:
            return Tracking(ParcelStatus.RETURNED, None, home=True)
        return Tracking(current, "checkpoint")
    if current not in _PROGRESS:
        raise ValueError(f"a {current} parcel takes no checkpoints")
    turned = _TURNS_BACK.get(checkpoint)
    if checkpoint is CheckpointStatus.FAILED_ATTEMPT and last_attempt:
        turned = "undeliverable"
    if turned is not None and current is not ParcelStatus.DELIVERED:
        home = checkpoint is CheckpointStatus.RETURNED_TO_SHOP
        return Tracking(ParcelStatus.RETURNED if home else ParcelStatus.RETURNING, turned, home)
    reached = _REACHES.get(checkpoint)
    if reached is None:
        return Tracking(current, "checkpoint")
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
    """A parcel still on its way to the customer (delay checks apply; not to one going
    back to the shop)."""
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


Substitution = Literal["not_available", "not_serving_region"]


@dataclass(frozen=True)
class Couriers:
    """The courier settings a shipment's choice needs: the rotation, the region rules,
    the couriers a customer's choice may name (`offered`) and the regions each does not
    serve (`excluded`, any case)."""

    rotation: Sequence[str]
    by_region: Mapping[str, str] = field(default_factory=dict)
    offered: frozenset[str] = frozenset()
    excluded: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def serves(self, courier: str, region: str | None) -> bool:
        if not region:
            return True
        return region.casefold() not in {r.casefold() for r in self.excluded.get(courier, ())}


@dataclass(frozen=True)
class CourierChoice:
    courier: str
    substituted: Substitution | None = None  # why the customer's choice is not the courier


def courier_for(
    requested: str | None, region: str | None, couriers: Couriers, turn: int
) -> CourierChoice:
    """The customer's courier when logistics has it and it serves the region; otherwise
    the region's rule or the rotation, among the couriers that serve the region (all of
    them when none does), with why the choice was not honoured."""
    substituted: Substitution | None = None
    if requested is not None:
        if requested not in couriers.offered:
            substituted = "not_available"
        elif not couriers.serves(requested, region):
            substituted = "not_serving_region"
        else:
            return CourierChoice(requested)
    serving = [c for c in couriers.rotation if couriers.serves(c, region)]
    rules = {r: c for r, c in couriers.by_region.items() if couriers.serves(c, region)}
    chosen = choose_courier(region, serving or couriers.rotation, rules, turn)
    return CourierChoice(chosen, substituted)

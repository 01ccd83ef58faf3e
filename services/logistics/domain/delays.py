"""Delays operations announce: a sales peak, a courier's problem, the weather. An
announcement covers the parcels expected within a date range (the day a parcel leaves while
it waits in the warehouse, the day it arrives once on its way), optionally of one delivery
region, one courier, and only those waiting or on their way; each covered parcel's date
moves the announced number of working days later and its customer is told once
(ShipmentDelayAnnounced), before the date they were given passes.

Parcels already open when it is announced are told one by one (the `announced_delay`
timer, one per parcel); a parcel opened or shipped while the announcement is in force is
told as it opens or ships. Pure rules: the steps save what `announced` decides.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal

from services.logistics.domain.shipping import (
    SHIP_BY,
    Outcome,
    ParcelStatus,
    Shipment,
    Timing,
    ship_by_key,
)
from shared.contracts.events.logistics import ShipmentDelayAnnounced

ANNOUNCED = "announced_delay"  # timer kind, key `<delay id>:<shipment id>`
Cause = Literal["peak", "courier_problem", "weather", "other"]
Parcels = Literal["waiting", "on_its_way", "all"]
Stage = Literal["waiting", "on_its_way"]
MAX_DAYS = 30  # working days a delay may add
MAX_RANGE_DAYS = 92  # the longest range of dates one announcement covers

_ON_ITS_WAY = (ParcelStatus.SHIPPED, ParcelStatus.IN_TRANSIT, ParcelStatus.OUT_FOR_DELIVERY)


@dataclass(frozen=True)
class Announcement:
    delay_id: str
    cause: Cause
    expected_from: date
    expected_to: date
    days: int
    parcels: Parcels = "all"
    region: str | None = None
    courier: str | None = None
    announced_at: datetime | None = None

    def same_as(self, other: Announcement) -> bool:
        """The same announcement, whenever it was made (a repeat of the request)."""
        return replace(self, announced_at=None) == replace(other, announced_at=None)


class AnnouncementRefused(ValueError):
    """An announcement that cannot be made; `field` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check(announcement: Announcement, today: date, couriers: frozenset[str]) -> None:
    """Refuses a range that runs backwards, is too long or has passed, and a courier the
    shop does not ship with (AnnouncementRefused, naming the field)."""
    a = announcement
    if a.expected_to < a.expected_from:
        raise AnnouncementRefused("expected_to", "the range ends before it begins")
    if (a.expected_to - a.expected_from).days >= MAX_RANGE_DAYS:
        raise AnnouncementRefused("expected_to", f"a range covers at most {MAX_RANGE_DAYS} days")
    if a.expected_to < today:
        raise AnnouncementRefused("expected_to", "the range has passed: no promise is left in it")
    if a.courier is not None and a.courier not in couriers:
        raise AnnouncementRefused("courier", f"the shop does not ship with {a.courier!r}")


def stage_of(status: ParcelStatus) -> Stage | None:
    """Where a parcel is as an announcement sees it (None: delivered, stopped, going back)."""
    if status is ParcelStatus.PENDING:
        return "waiting"
    if status in _ON_ITS_WAY:
        return "on_its_way"
    return None


def covers(a: Announcement, shipment: Shipment, region: str | None, today: date) -> bool:
    """Whether the announcement covers the parcel now: one still to leave or on its way, of
    its courier and region (in any case), expected within its range and not before `today` (a date
    already passed is the ship-by and silence timers' to tell)."""
    stage = stage_of(shipment.status)
    if stage is None or a.parcels not in ("all", stage):
        return False
    if a.courier is not None and shipment.courier != a.courier:
        return False
    if a.region is not None and (region or "").lower() != a.region.lower():
        return False
    return max(a.expected_from, today) <= shipment.expected_date <= a.expected_to


def announced(a: Announcement, shipment: Shipment, timing: Timing, now: datetime) -> Outcome:
    """The parcel's date moves `days` working days later and its customer is told. A
    parcel still in the warehouse gets the new date as its promise, watched by a new
    ship-by timer in place of the old one."""
    stage = stage_of(shipment.status)
    assert stage is not None, "only an open parcel is covered"
    later = timing.calendar.add_working_days(shipment.expected_date, a.days)
    told = ShipmentDelayAnnounced(
        delay_id=a.delay_id,
        cause=a.cause,
        shipment_id=shipment.shipment_id,
        courier=shipment.courier,
        stage=stage,
        previous_date=shipment.expected_date,
        new_expected_date=later,
    )
    outcome = Outcome(shipment=replace(shipment, expected_date=later), events=[told])
    if stage == "waiting":
        outcome.promise = later
        if timing.waits:  # watched by its ship-by timer, as `opened` set it
            order_id = shipment.order_id
            outcome.timers[(SHIP_BY, ship_by_key(order_id, shipment.expected_date))] = None
            outcome.timers[(SHIP_BY, ship_by_key(order_id, later))] = timing.ship_by_due(later, now)
    return outcome

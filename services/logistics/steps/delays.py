"""Announced delays: operations announce one (`announce`), the parcels already open that it
covers are told one by one as their `announced_delay` timer fires (`sweep_due`), and a
parcel that opens or ships while one is in force is told then (`as_in_force`). Each parcel
is told of an announcement once (`delay_notices`).

A parcel's step locks its order, then the parcel, as every other step does.
"""

from __future__ import annotations

from services.logistics import metrics
from services.logistics import repository as repo
from services.logistics.deps import Deps
from services.logistics.domain import delays
from services.logistics.domain.delays import Announcement
from services.logistics.domain.shipping import Shipment, Timing
from services.logistics.domain.stock import Fulfilment
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)


class AnnouncementTaken(Exception):
    """An announcement under this id was made before, and differently."""

    def __init__(self, delay_id: str) -> None:
        super().__init__(f"a different delay was announced as {delay_id} before")


async def announce(unit: Unit[Deps], a: Announcement) -> tuple[Announcement, dict[str, int], bool]:
    """Makes the announcement: the announcement as stored, how it stands (`covered`: the
    open parcels it covers, each told by its own timer after this commits; `told`: those
    told so far) and whether it is new (a repeat of the same announcement answers the
    same). AnnouncementRefused when it cannot be made;
    AnnouncementTaken when the id was used for another."""
    today = unit.deps.calendar.local_date(unit.now)
    delays.check(a, today, frozenset(unit.deps.carriers))
    stored, progress, new = await repo.announce_delay(unit.conn, a, today, unit.correlation_id)
    if not new and not stored.same_as(a):
        raise AnnouncementTaken(a.delay_id)
    if new:
        log.info("delay announced", delay_id=a.delay_id, cause=a.cause, **progress)
    return stored, progress, new


async def sweep_due(unit: Unit[Deps], delay_id: str, shipment_id: str, timing: Timing) -> None:
    """An open parcel the announcement covered when it was made: told now if it still is
    covered (it may have left, been delivered or stopped since)."""
    order = await repo.fulfilment_of_shipment(unit.conn, shipment_id)
    shipment = await repo.shipment_by_id(unit.conn, shipment_id) if order else None
    found = await repo.delay_announcement(unit.conn, delay_id)
    if order is None or shipment is None or found is None:
        return
    await _tell(unit, found[0], order, shipment, timing)


async def as_in_force(
    unit: Unit[Deps], order: Fulfilment, shipment: Shipment, timing: Timing
) -> Shipment:
    """A parcel that just opened or shipped, told of each announcement in force that covers
    it, in the order they were made; the parcel as it then is."""
    today = timing.calendar.local_date(unit.now)
    for a in await repo.delays_in_force(unit.conn, today):
        shipment = await _tell(unit, a, order, shipment, timing) or shipment
    return shipment


async def _tell(
    unit: Unit[Deps], a: Announcement, order: Fulfilment, shipment: Shipment, timing: Timing
) -> Shipment | None:
    """Moves the parcel's date and tells its customer, once per announcement; the parcel as
    it then is, None when the announcement does not cover it (or told it already)."""
    today = timing.calendar.local_date(unit.now)
    region = (order.address or {}).get("region")
    if not delays.covers(a, shipment, region, today):
        return None
    outcome = delays.announced(a, shipment, timing, unit.now)
    assert outcome.shipment is not None, "an announced delay moves the parcel's date"
    moved = outcome.shipment
    previous, new = shipment.expected_date, moved.expected_date
    if not await repo.tell_delay(unit.conn, a.delay_id, moved.shipment_id, previous, new, unit.now):
        return None
    await repo.record(unit, order.order_id, outcome)
    metrics.delays(unit, outcome.events)
    return moved

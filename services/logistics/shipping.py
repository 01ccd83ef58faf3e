"""Shipping operations inside a unit of work: open, dispatch and cancel shipments,
take tracking checkpoints, and tell delays before the customer notices.

Timer kinds: `ship` (a delayed dispatch, key order id), `ship_by` (key
`<order id>:<expected ship date>`, one per promise), `checkpoint_silence`
(key shipment id, re-armed by every checkpoint).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.logistics import repository as repo
from services.logistics import stock
from services.logistics.carriers.base import Parcel
from services.logistics.deps import deps_of
from services.logistics.domain import (
    Announcement,
    CheckpointStatus,
    ParcelStatus,
    choose_courier,
    is_open,
    track,
)
from services.logistics.repository import Fulfilment, Shipment
from shared.contracts.envelope import Event, Money
from shared.contracts.events.common import Address, OrderLine, PaymentMethod
from shared.contracts.events.logistics import (
    CheckpointReached,
    ShipmentCancelled,
    ShipmentDelayed,
    ShipmentDelivered,
    ShipmentOutForDelivery,
    ShipmentShipped,
    ShippingPromiseSet,
)
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(component="shipping")

SHIP, SHIP_BY, SILENCE = "ship", "ship_by", "checkpoint_silence"


async def open_shipment(unit: Unit, record: Fulfilment, paid_at: datetime) -> None:
    """A paid (or cash-on-delivery) order gets its shipment: a courier now, the parcel at
    once or after the configured dispatch delay, watched by the ship-by timer meanwhile.
    The promise is judged at payment (it replaces the one given at placement) and is
    published, so the order shows the date logistics keeps."""
    deps = deps_of(unit)
    settings, calendar = deps.settings, deps.calendar
    promised = calendar.promised_ship_date(paid_at)
    region = (record.address or {}).get("region")
    turn = await repo.next_courier_turn(unit.conn)
    cod = record.total if record.payment_method == PaymentMethod.CASH_ON_DELIVERY else None
    shipment = Shipment(
        shipment_id=f"shp_{uuid.uuid4().hex[:16]}",
        order_id=record.order_id,
        status=ParcelStatus.PENDING,
        courier=choose_courier(region, settings.couriers, settings.courier_by_region, turn),
        tracking_number=None,
        cash_on_delivery=cod,
        promised_ship_date=promised,
        expected_date=promised,
        created_at=unit.now,
        shipped_at=None,
        delivered_at=None,
        last_checkpoint_at=None,
    )
    await repo.insert_shipment(unit.conn, shipment)
    await repo.set_promise(unit.conn, record.order_id, promised)
    promise = ShippingPromiseSet(promised_ship_date=promised, shipment_id=shipment.shipment_id)
    await unit.emit(promise, order_id=record.order_id)
    if settings.ship_delay_seconds <= 0:
        await dispatch(unit, record, shipment)
        return
    await unit.schedule(
        SHIP, record.order_id, unit.now + timedelta(seconds=settings.ship_delay_seconds)
    )
    await _watch_promise(unit, record.order_id, promised)


async def _watch_promise(unit: Unit, order_id: str, expected: date) -> None:
    deps = deps_of(unit)
    if deps.settings.ship_by_seconds > 0:
        due = unit.now + timedelta(seconds=deps.settings.ship_by_seconds)
    else:
        due = deps.calendar.ship_by(expected)
    await unit.schedule(SHIP_BY, f"{order_id}:{expected}", due)


async def dispatch(unit: Unit, record: Fulfilment, shipment: Shipment) -> None:
    """The parcel leaves: booked with its courier, stock consumed, ShipmentShipped."""
    deps = deps_of(unit)
    parcel = Parcel(
        shipment_id=shipment.shipment_id,
        order_id=record.order_id,
        city=str((record.address or {}).get("city", "")),
        region=(record.address or {}).get("region"),
        country=str((record.address or {}).get("country", "")),
        items=sum(int(line["quantity"]) for line in record.lines),
    )
    tracking = await deps.carrier(shipment.courier).book(parcel)
    expected = deps.calendar.add_working_days(
        deps.calendar.local_date(unit.now), deps.settings.delivery_days
    )
    await repo.mark_shipped(unit.conn, shipment.shipment_id, tracking, unit.now, expected)
    await stock.consume(unit, record.order_id)
    await unit.cancel_timer(SHIP, record.order_id)
    await unit.cancel_timer(SHIP_BY, f"{record.order_id}:{shipment.expected_date}")
    await _arm_silence(unit, shipment.shipment_id)
    shipped = ShipmentShipped(
        shipment_id=shipment.shipment_id,
        courier=shipment.courier,
        tracking_number=tracking,
        lines=tuple(OrderLine.model_validate(line) for line in record.lines),
        address=Address.model_validate(record.address),
        shipped_at=unit.now,
        cash_on_delivery=Money.model_validate(shipment.cash_on_delivery)
        if shipment.cash_on_delivery
        else None,
        expected_delivery_date=expected,
    )
    await unit.emit(shipped, order_id=record.order_id)
    log.info("shipped", shipment_id=shipment.shipment_id, courier=shipment.courier)


async def stop(unit: Unit, record: Fulfilment, reason: str) -> bool:
    """Cancels a shipment that has not left; False when the parcel is already on its way."""
    shipment = await repo.shipment_of_order(unit.conn, record.order_id)
    if shipment is None:
        return True
    if shipment.status is not ParcelStatus.PENDING:
        return shipment.status is ParcelStatus.CANCELLED
    await repo.update_shipment(unit.conn, shipment.shipment_id, status=ParcelStatus.CANCELLED)
    await unit.cancel_timer(SHIP, record.order_id)
    await unit.cancel_timer(SHIP_BY, f"{record.order_id}:{shipment.expected_date}")
    await unit.emit(ShipmentCancelled(reason=reason), order_id=record.order_id)
    return True


@dataclass(frozen=True)
class Checkpoint:
    checkpoint_id: str
    checkpoint_at: datetime
    city: str
    status: CheckpointStatus
    description: str


async def take_checkpoint(unit: Unit, shipment: Shipment, cp: Checkpoint) -> bool:
    """Records a courier checkpoint; False for one seen before. The parcel only moves
    forward; every new checkpoint joins the order's timeline."""
    fresh = await repo.add_checkpoint(
        unit.conn,
        shipment.courier,
        cp.checkpoint_id,
        shipment.shipment_id,
        cp.checkpoint_at,
        cp.city,
        cp.status.value,
        cp.description,
    )
    if not fresh:
        return False
    outcome = track(shipment.status, cp.status)
    delivered = outcome.announce == "delivered"
    await repo.update_shipment(
        unit.conn,
        shipment.shipment_id,
        status=outcome.status,
        last_checkpoint_at=cp.checkpoint_at,
        delivered_at=cp.checkpoint_at if delivered else None,
    )
    if is_open(outcome.status):
        await _arm_silence(unit, shipment.shipment_id)
    else:
        await unit.cancel_timer(SILENCE, shipment.shipment_id)
    event = _announcement(shipment, cp, outcome.announce)
    if event is not None:
        await unit.emit(event, order_id=shipment.order_id)
    return True


def _announcement(shipment: Shipment, cp: Checkpoint, announce: Announcement) -> Event | None:
    """The event a checkpoint is told as: a timeline step, out for delivery, or delivered."""
    tracking = str(shipment.tracking_number)
    ids = {"shipment_id": shipment.shipment_id, "courier": shipment.courier}
    if announce == "checkpoint":
        return CheckpointReached(
            **ids, tracking_number=tracking, checkpoint_at=cp.checkpoint_at, city=cp.city,
            status=cp.status.value, description=cp.description,
        )  # fmt: skip
    if announce == "out_for_delivery":
        return ShipmentOutForDelivery(
            **ids, tracking_number=tracking, checkpoint_at=cp.checkpoint_at, city=cp.city
        )
    if announce == "delivered":
        cod = shipment.cash_on_delivery
        return ShipmentDelivered(
            **ids, tracking_number=tracking, delivered_at=cp.checkpoint_at, city=cp.city,
            cash_collected=Money.model_validate(cod) if cod else None,
        )  # fmt: skip
    return None


async def _arm_silence(unit: Unit, shipment_id: str) -> None:
    seconds = deps_of(unit).settings.checkpoint_silence_seconds
    await unit.schedule(SILENCE, shipment_id, unit.now + timedelta(seconds=seconds))


async def not_shipped_in_time(unit: Unit, shipment: Shipment) -> None:
    """The promise is missed: tell the customer the new date and watch that one too."""
    if shipment.status is not ParcelStatus.PENDING:
        return
    calendar = deps_of(unit).calendar
    later = calendar.later_date(shipment.expected_date, unit.now)
    await repo.update_shipment(unit.conn, shipment.shipment_id, expected_date=later)
    await repo.set_promise(unit.conn, shipment.order_id, later)
    await unit.emit(
        ShipmentDelayed(
            reason="not_shipped_by_promise",
            shipment_id=shipment.shipment_id,
            previous_date=shipment.expected_date,
            new_expected_date=later,
        ),
        order_id=shipment.order_id,
    )
    await _watch_promise(unit, shipment.order_id, later)


async def silent_too_long(unit: Unit, shipment: Shipment) -> None:
    """No checkpoint for the configured time: tell the customer the new delivery date."""
    if shipment.status not in (
        ParcelStatus.SHIPPED,
        ParcelStatus.IN_TRANSIT,
        ParcelStatus.OUT_FOR_DELIVERY,
    ):
        return
    later = deps_of(unit).calendar.later_date(shipment.expected_date, unit.now)
    await repo.update_shipment(unit.conn, shipment.shipment_id, expected_date=later)
    await unit.emit(
        ShipmentDelayed(
            reason="no_checkpoint",
            shipment_id=shipment.shipment_id,
            previous_date=shipment.expected_date,
            new_expected_date=later,
        ),
        order_id=shipment.order_id,
    )

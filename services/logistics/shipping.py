"""Shipping operations inside a unit of work: open, dispatch and cancel shipments,
take tracking checkpoints, and tell delays before the customer notices. A dispatch
records the courier booking; the effects worker books after the commit and `_booked`
ships the parcel.

Timer kinds: `ship` (a delayed dispatch, key order id), `ship_by` (key
`<order id>:<expected ship date>`, one per promise), `checkpoint_silence`
(key shipment id, re-armed by every checkpoint).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from services.logistics import repository as repo
from services.logistics import stock
from services.logistics.carriers.base import BookingError, Parcel, UnknownCarrier
from services.logistics.deps import Deps, deps_of
from services.logistics.domain import (
    Announcement,
    CheckpointStatus,
    ParcelStatus,
    choose_courier,
    is_open,
    track,
)
from services.logistics.repository import Fulfilment, Shipment
from shared import effects
from shared.contracts.envelope import Event, Money
from shared.contracts.events.common import Address, OrderLine, PaymentMethod
from shared.contracts.events.logistics import (
    CheckpointReached,
    ShipmentCancelled,
    ShipmentDelayed,
    ShipmentDelivered,
    ShipmentShipped,
    ShipmentWentOutForDelivery,
    ShippingPromiseSet,
)
from shared.effects import Effect, EffectError, Performer
from shared.logging import get_logger
from shared.unit import Unit

if TYPE_CHECKING:
    pass

log = get_logger(__name__)

SHIP, SHIP_BY, SILENCE = "ship", "ship_by", "checkpoint_silence"
BOOKING = "carrier_booking"  # an effect (shared/effects.py), key shipment id


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
    """The parcel is to leave: its booking with the courier is recorded, keyed by the
    shipment, and made after the commit; `_booked` ships it when the courier answers."""
    address = record.address or {}
    parcel = {
        "shipment_id": shipment.shipment_id,
        "order_id": record.order_id,
        "city": str(address.get("city", "")),
        "region": address.get("region"),
        "country": str(address.get("country", "")),
        "items": sum(int(line["quantity"]) for line in record.lines),
    }
    payload = {"courier": shipment.courier, "parcel": parcel}
    if await effects.record(unit, BOOKING, shipment.shipment_id, payload):
        log.info("booking requested", shipment_id=shipment.shipment_id, courier=shipment.courier)
    await unit.cancel_timer(SHIP, record.order_id)


async def _book(deps: Deps, effect: Effect) -> str:
    """Outside any transaction: the courier books the parcel (idempotent on the shipment)."""
    try:
        carrier = deps.carrier(effect.payload["courier"])
        return await carrier.book(Parcel(**effect.payload["parcel"]), idempotency_key=effect.key)
    except UnknownCarrier as exc:
        raise EffectError(f"unknown carrier {exc}", permanent=True) from exc
    except BookingError as exc:
        raise EffectError(exc.reason, permanent=exc.permanent) from exc


async def _booked(unit: Unit, effect: Effect, tracking: Any) -> None:
    """The courier took the parcel: stock consumed, ShipmentShipped."""
    deps = deps_of(unit)
    shipment = await repo.shipment_by_id(unit.conn, effect.key)
    record = await repo.fulfilment(unit.conn, shipment.order_id) if shipment else None
    if shipment is None or record is None or shipment.status is not ParcelStatus.PENDING:
        log.warning("booked a parcel that no longer ships", shipment_id=effect.key)
        return
    expected = deps.calendar.add_working_days(
        deps.calendar.local_date(unit.now), deps.settings.delivery_days
    )
    await repo.mark_shipped(unit.conn, shipment.shipment_id, str(tracking), unit.now, expected)
    await stock.consume(unit, record.order_id)
    await unit.cancel_timer(SHIP, record.order_id)
    await unit.cancel_timer(SHIP_BY, f"{record.order_id}:{shipment.expected_date}")
    await _arm_silence(unit, shipment.shipment_id)
    shipped = ShipmentShipped(
        shipment_id=shipment.shipment_id,
        courier=shipment.courier,
        tracking_number=str(tracking),
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


async def _not_booked(unit: Unit, effect: Effect, reason: str, will_retry: bool) -> None:
    """The shipment stays pending; its ship-by timer tells the customer of a delay."""
    log.warning("parcel not booked", shipment_id=effect.key, error=reason, retry=will_retry)


BOOKER = Performer(call=_book, done=_booked, failed=_not_booked)


def effects_policy(deps: Deps) -> effects.Policy:
    """The calls the logistics service makes after commit: carrier bookings."""
    return replace(deps.effects, performers={BOOKING: BOOKER})


async def stop(unit: Unit, record: Fulfilment, reason: str) -> Shipment | None:
    """Cancels a shipment that has not left. Returns the shipment when it is already on its
    way (booked with the courier, or shipped: not recalled), None when nothing will leave.
    The order's row and its shipment's are locked by the caller's reads, so a dispatch is
    either wholly before this or after it."""
    shipment = await repo.shipment_of_order(unit.conn, record.order_id)
    if shipment is None or shipment.status is ParcelStatus.CANCELLED:
        return None
    if shipment.status is not ParcelStatus.PENDING:
        return shipment
    if await effects.recorded(unit.conn, BOOKING, shipment.shipment_id):
        return shipment  # handed to the courier's booking: it leaves whatever we decide now
    await repo.update_shipment(unit.conn, shipment.shipment_id, status=ParcelStatus.CANCELLED)
    await unit.cancel_timer(SHIP, record.order_id)
    await unit.cancel_timer(SHIP_BY, f"{record.order_id}:{shipment.expected_date}")
    await unit.emit(ShipmentCancelled(reason=reason), order_id=record.order_id)
    return None


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
        return ShipmentWentOutForDelivery(
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

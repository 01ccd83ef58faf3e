"""Shipping steps: open, dispatch and stop shipments, take tracking checkpoints, tell
delays before the customer notices, and take back a parcel that went back to the shop.
A dispatch records the courier booking; the effects worker books after the commit
(`BOOKER`) and `_booked` ships the parcel.

Each step loads what it needs, asks `domain.shipments` what happens and saves the
`Outcome` once (`repository.record`).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.logistics import metrics
from services.logistics import repository as repo
from services.logistics.carriers.base import BookingError, Parcel
from services.logistics.carriers.kuaidi100 import Booked, Kuaidi100Carrier
from services.logistics.deps import Deps
from services.logistics.domain import exchanges, parcels, shipments
from services.logistics.domain.shipping import (
    BOOKING,
    Checkpoint,
    CheckpointStatus,
    Couriers,
    Outcome,
    ParcelStatus,
    Shipment,
    Timing,
    courier_for,
)
from services.logistics.domain.stock import Fulfilment, ships_from
from services.logistics.steps import delays, exchange_parcels, stock, subscription, warehouse
from shared import effects
from shared.contracts.events.common import LineQuantity
from shared.contracts.events.logistics import ShipmentDelivered
from shared.effects import Effect, EffectError, Performer
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)


def timing_of(deps: Deps) -> Timing:
    settings = deps.settings
    return Timing(
        calendar=deps.calendar,
        ship_delay_seconds=settings.ship_delay_seconds,
        ship_by_seconds=settings.ship_by_seconds,
        checkpoint_silence_seconds=settings.checkpoint_silence_seconds,
        delivery_days=settings.delivery_days,
        max_delivery_attempts=settings.max_delivery_attempts,
        warehouse_steps=settings.warehouse_steps,
    )


async def ship_when_ready(
    unit: Unit[Deps],
    order: Fulfilment,
    paid_at: datetime | None = None,
    *,
    has_shipment: bool | None = None,
) -> None:
    """Opens the shipment of a reserved order that may ship: paid (at `paid_at`, or as
    recorded), or cash on delivery. Nothing for an order that waits or has one already.
    `order` is as this unit holds it (locked); whether it `has_shipment` is read unless
    the caller knows."""
    if order.state == "reserved" and has_shipment is None:
        has_shipment = bool(await repo.shipments_of_order(unit.conn, order.order_id))
    judged_from = ships_from(order, bool(has_shipment), paid_at, unit.now)
    if judged_from is None:
        if paid_at is not None:
            log.debug("paid order needs no new shipment", state=order.state)
        return
    await _open(unit, order, judged_from)


def couriers_of(deps: Deps) -> Couriers:
    """The courier settings, a customer's choice honoured only for a courier with a carrier."""
    settings = deps.settings
    return Couriers(
        rotation=settings.couriers,
        by_region=settings.courier_by_region,
        offered=settings.couriers_offered() & frozenset(deps.carriers),
        excluded=settings.courier_excluded_regions,
    )


async def _open(unit: Unit[Deps], order: Fulfilment, paid_at: datetime) -> None:
    """Opens the order's shipments, one per parcel (domain.parcels), all with one courier:
    the customer's choice or the region's, as one order goes to one address."""
    region = (order.address or {}).get("region")
    turn = await repo.next_courier_turn(unit.conn)
    choice = courier_for(order.requested_courier, region, couriers_of(unit.deps), turn)
    plans = parcels.plan(order, await repo.reservations(unit.conn, order.order_id))
    opening = [(f"shp_{uuid.uuid4().hex[:16]}", p) for p in plans]
    timing = timing_of(unit.deps)
    outcomes = shipments.opened(
        order, opening, choice.courier, paid_at, unit.now, timing, choice.substituted
    )
    for outcome in outcomes:
        await repo.record(unit, order.order_id, outcome)
    if len(opening) > 1:  # an order's only shipment takes the rows no parcel is named on
        await repo.assign_units(unit.conn, order.order_id, [(i, p.rows) for i, p in opening])
    for outcome in outcomes:
        assert outcome.shipment is not None, "every parcel opened is saved"
        if timing.warehouse_steps:
            await warehouse.enter(unit, outcome.shipment.shipment_id)
        if outcome.shipment.status is ParcelStatus.PENDING:
            await delays.as_in_force(unit, order, outcome.shipment, timing)
    if choice.substituted is not None:
        log.info("courier substituted", courier=choice.courier, reason=choice.substituted)
    if len(plans) > 1:
        log.info("ships as several parcels", parcels=len(plans))


async def ship_due(unit: Unit[Deps], order_id: str) -> None:
    """A delayed dispatch is due: the order's pending parcels are booked."""
    order = await repo.fulfilment(unit.conn, order_id)
    if order is None:
        return
    for shipment in await repo.shipments_of_order(unit.conn, order_id):
        if shipment.status is ParcelStatus.PENDING:
            await repo.record(unit, order_id, shipments.dispatched(order, shipment))


async def _book(deps: Deps, effect: Effect) -> str | Booked:
    """Outside any transaction: the courier books the parcel (idempotent on the shipment)."""
    name = effect.payload["courier"]
    carrier = deps.carriers.get(name)
    if carrier is None:
        raise EffectError(f"unknown carrier {name!r}", permanent=True)
    parcel = Parcel(**effect.payload["parcel"])
    try:
        if isinstance(carrier, Kuaidi100Carrier):  # a real one: the label with the number
            return await carrier.book_with_label(parcel, idempotency_key=effect.key)
        return await carrier.book(parcel, idempotency_key=effect.key)
    except BookingError as exc:
        raise EffectError(exc.reason, permanent=exc.permanent, retry_after=exc.retry_after) from exc


async def _booked(unit: Unit[Deps], effect: Effect, booked: Any) -> None:
    """The courier took the parcel: stock consumed, ShipmentShipped; a real carrier's
    parcel is then followed (its tracking subscribed after commit). An exchange's parcel
    is told as ExchangeShipped instead (steps.exchange_parcels)."""
    order = await repo.fulfilment_of_shipment(unit.conn, effect.key)  # the order first
    shipment = await repo.shipment_by_id(unit.conn, effect.key) if order else None
    if shipment is None or order is None or shipment.status is not ParcelStatus.PENDING:
        log.warning("booked a parcel that no longer ships", shipment_id=effect.key)
        return
    tracking = booked.tracking_number if isinstance(booked, Booked) else str(booked)
    timing = timing_of(unit.deps)
    if shipment.exchange_id is not None:  # not one of the order's parcels
        await exchange_parcels.booked(unit, order, shipment, booked, tracking, timing)
        return
    outcome = shipments.shipped(order, shipment, tracking, unit.now, timing)
    await repo.record(unit, order.order_id, outcome)
    assert outcome.shipment is not None, "a parcel shipped is saved"
    await delays.as_in_force(unit, order, outcome.shipment, timing)
    metrics.shipped(unit, order.paid_at)
    await stock.consume(unit, order.order_id, shipment.shipment_id)
    if isinstance(booked, Booked):
        await subscription.watch(unit, shipment, booked, order.address, order.phone)
    log.info("shipped", shipment_id=shipment.shipment_id, courier=shipment.courier)


async def _not_booked(unit: Unit[Deps], effect: Effect, reason: str, will_retry: bool) -> None:
    """The shipment stays pending; its ship-by timer tells the customer of a delay."""
    log.warning("parcel not booked", shipment_id=effect.key, error=reason, retry=will_retry)


BOOKER = Performer(call=_book, done=_booked, failed=_not_booked)


def effects_policy(deps: Deps) -> effects.Policy:
    """The calls the logistics service makes after commit: carrier bookings and tracking
    subscriptions."""
    performers = {BOOKING: BOOKER, subscription.SUBSCRIPTION: subscription.SUBSCRIBER}
    return replace(deps.effects, performers=performers)


async def stop(unit: Unit[Deps], order_id: str, reason: str) -> Shipment | None:
    """Cancels the order's shipments that have not left, all or none. Returns a parcel
    already on its way (booked with the courier, or shipped: not recalled), when one is,
    and then stops none: the order is no longer one that nothing left for. None when
    nothing will leave. The order's row and its shipments' are locked by the caller's reads
    and this one, so a dispatch is either wholly before this or after it."""
    waiting = []
    for shipment in await repo.shipments_of_order(unit.conn, order_id):
        if shipment.status is ParcelStatus.CANCELLED:
            continue
        if shipment.status is not ParcelStatus.PENDING:
            return shipment
        if await effects.recorded(unit.conn, BOOKING, shipment.shipment_id):
            return shipment  # handed to the courier's booking: it leaves whatever we decide now
        waiting.append(shipment)
    for outcome in shipments.stopped(waiting, reason, timing_of(unit.deps)):
        await repo.record(unit, order_id, outcome)
    return None


async def checkpoint_posted(
    unit: Unit[Deps], carrier: str, tracking_number: str, cp: Checkpoint
) -> tuple[Shipment, bool] | None:
    """A courier's checkpoint for one of its parcels: the shipment and whether the
    checkpoint is new (None for a parcel the courier does not have with us)."""
    found = await repo.tracked_parcel(unit.conn, carrier, tracking_number)
    if found is None:
        return None
    shipment, correlation_id = found
    unit.correlation_id = correlation_id or unit.correlation_id
    return shipment, await _take_checkpoint(unit, shipment, cp)


async def _take_checkpoint(unit: Unit[Deps], shipment: Shipment, cp: Checkpoint) -> bool:
    """Records a courier checkpoint with what it moves (decided first, saved only when the
    checkpoint is new); False for one seen before. A failed attempt is counted with those
    before it; a parcel back at the shop brings its order's lines back."""
    attempts, lines = 0, []
    if cp.status is CheckpointStatus.FAILED_ATTEMPT:
        attempts = await repo.failed_attempts(unit.conn, shipment.shipment_id) + 1
    if cp.status is CheckpointStatus.RETURNED_TO_SHOP and shipment.lines is None:
        lines = await repo.order_lines(unit.conn, shipment.order_id)
    timing = timing_of(unit.deps)
    outcome = shipments.tracked(shipment, cp, timing, unit.now, attempts=attempts, lines=lines)
    assert outcome.shipment is not None, "a checkpoint always moves its shipment"
    if not await repo.take_checkpoint(unit.conn, shipment.courier, cp, outcome.shipment):
        return False
    outcome.shipment = None  # saved with the checkpoint
    await _record(unit, shipment, outcome)
    delivered = any(isinstance(event, ShipmentDelivered) for event in outcome.events)
    if delivered and shipment.exchange_id is None:  # an exchange's parcel is not the order's
        metrics.delivered(unit, shipment.shipped_at, cp.checkpoint_at)
        log.info("delivered", order_id=shipment.order_id, shipment_id=shipment.shipment_id)
    elif delivered:
        log.info("exchange delivered", exchange_id=shipment.exchange_id)
    return True


async def received_back(
    unit: Unit[Deps], shipment_id: str
) -> tuple[Shipment, tuple[LineQuantity, ...]] | None:
    """The warehouse received back a parcel going back to the shop that the courier never
    reported there: taken as the courier's report would be (its goods on the shelf again,
    ShipmentReturnedToShop), once. The parcel back, with the goods it brought (a repeat
    answers the same); None for an unknown shipment; NotReturning for a parcel not going
    back."""
    shipment = await repo.shipment_by_id(unit.conn, shipment_id)
    if shipment is None:
        return None
    lines = shipment.lines or await repo.order_lines(unit.conn, shipment.order_id)
    outcome = shipments.received_back(shipment, lines, unit.now)
    await _record(unit, shipment, outcome)
    return outcome.shipment or shipment, shipments.goods(shipment.goods(lines))


async def _record(unit: Unit[Deps], shipment: Shipment, outcome: Outcome) -> None:
    """Saves what tracking decided of the parcel and, once it is back at the shop, puts
    its goods back on the shelf (once per shipment: keyed by it). Of an exchange's parcel,
    only the parcel moves: nothing is told for the order, its delivery is the exchange's
    (domain.exchanges `quiet`)."""
    if shipment.exchange_id is not None:
        outcome = exchanges.quiet(outcome, shipment.exchange_id)
    await repo.record(unit, shipment.order_id, outcome)
    if outcome.restock:
        back = await stock.restock(unit, shipment.order_id, shipment.shipment_id, outcome.restock)
        await _serve_waiting(unit, back)
        log.info("back at the shop", order_id=shipment.order_id, shipment_id=shipment.shipment_id)
    metrics.delays(unit, outcome.events)
    metrics.returns(unit, outcome.events)


async def _serve_waiting(unit: Unit[Deps], skus: list[str]) -> None:
    """Goods back on the shelf go to the backorders waiting for them first, as goods
    received do, so a later order never takes them ahead of a customer who waits. Imported
    here, not at the top: the backorder steps ship the orders they fill through this
    module."""
    from services.logistics.steps import backorders

    await backorders.serve(unit, skus)


async def tracked(unit: Unit[Deps], order_id: str) -> list[tuple[Shipment, list[dict[str, Any]]]]:
    """The order's shipments by number, each with its checkpoints by time (none: no
    shipment)."""
    return [
        (shipment, await repo.timeline(unit.conn, shipment.shipment_id))
        for shipment in await repo.shipments_of_order(unit.conn, order_id, lock=False)
    ]


async def announced_delay_due(unit: Unit[Deps], delay_id: str, shipment_id: str) -> None:
    """An announced delay reaches a parcel that was open when it was made."""
    await delays.sweep_due(unit, delay_id, shipment_id, timing_of(unit.deps))


async def ship_by_passed(unit: Unit[Deps], order_id: str, expected: str) -> None:
    """The promise `expected` (ISO date) is missed by the order's parcels that have not
    left: each is told late, once."""
    for shipment in await repo.shipments_of_order(unit.conn, order_id):
        if shipment.expected_date.isoformat() == expected:
            outcome = shipments.late_to_ship(shipment, timing_of(unit.deps), unit.now)
            await repo.record(unit, order_id, outcome)
            metrics.delays(unit, outcome.events)


async def silence_passed(unit: Unit[Deps], shipment_id: str) -> None:
    """No checkpoint for the configured time: the customer is told the new date."""
    shipment = await repo.shipment_by_id(unit.conn, shipment_id)
    if shipment is not None:
        outcome = shipments.silent(shipment, timing_of(unit.deps), unit.now)
        await repo.record(unit, shipment.order_id, outcome)
        metrics.delays(unit, outcome.events)

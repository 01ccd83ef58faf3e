"""What happens to a shipment: opened, dispatched, shipped, stopped, tracked, late,
turned back (refused or undeliverable) and back at the shop.

Each rule returns the `Outcome` to save; none reads or writes anything itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from services.logistics.domain import parcels as parcel_plans
from services.logistics.domain.parcels import Plan
from services.logistics.domain.shipping import (
    SHIP,
    SHIP_BY,
    SILENCE,
    Announcement,
    Checkpoint,
    CheckpointStatus,
    Outcome,
    ParcelStatus,
    Shipment,
    Substitution,
    Timing,
    is_open,
    ship_by_key,
    track,
)
from services.logistics.domain.stock import Fulfilment
from shared.contracts.envelope import Event, Money
from shared.contracts.events.common import Address, LineQuantity, OrderLine, PaymentMethod
from shared.contracts.events.logistics import (
    CheckpointReached,
    CourierSubstituted,
    ParcelNumber,
    ShipmentCancelled,
    ShipmentDelayed,
    ShipmentDelivered,
    ShipmentRefused,
    ShipmentReturnedToShop,
    ShipmentShipped,
    ShipmentWentOutForDelivery,
    ShippingPromiseSet,
)

_ON_ITS_WAY = (ParcelStatus.SHIPPED, ParcelStatus.IN_TRANSIT, ParcelStatus.OUT_FOR_DELIVERY)


def opened(
    order: Fulfilment,
    parcels: Sequence[tuple[str, Plan]],
    courier: str,
    paid_at: datetime,
    now: datetime,
    timing: Timing,
    substituted: Substitution | None = None,
) -> list[Outcome]:
    """A paid (or cash-on-delivery) order gets its shipments, one per parcel (shipment id
    and plan, in number order; domain.parcels): each booked at once or after the dispatch
    delay, watched by the order's ship-by timer meanwhile. The promise is judged at payment
    (it replaces the one given at placement) and is published once, with the parcels. A
    courier chosen at checkout that `courier` replaces (`substituted`, why) is told once,
    for the first parcel, and its surcharge is not collected on delivery. With warehouse
    steps each parcel waits for the warehouse's hand-over instead (domain.warehouse),
    watched by the ship-by timer all the while. One outcome per parcel, the order's
    events and timers with the first."""
    promised = timing.calendar.promised_ship_date(paid_at)
    cod = order.total if order.payment_method == PaymentMethod.CASH_ON_DELIVERY else None
    if cod is not None and substituted is not None:
        cod = without_courier_fee(cod, order.courier_fee)
    several = len(parcels) > 1
    shipments = [
        Shipment(
            shipment_id=shipment_id,
            order_id=order.order_id,
            status=ParcelStatus.PENDING,
            courier=courier,
            tracking_number=None,
            cash_on_delivery=cod,  # one parcel: cash on delivery is never split
            promised_ship_date=promised,
            expected_date=promised,
            created_at=now,
            shipped_at=None,
            delivered_at=None,
            last_checkpoint_at=None,
            warehouse=p.warehouse,
            lines=list(p.lines) if several else None,
            parcel_number=number,
            parcel_count=len(parcels),
        )
        for number, (shipment_id, p) in enumerate(parcels, start=1)
    ]
    first = shipments[0].shipment_id
    told = parcel_plans.announced(
        [shipment_id for shipment_id, _ in parcels], [p for _, p in parcels]
    )
    promise = ShippingPromiseSet(promised_ship_date=promised, shipment_id=first, parcels=told)
    outcomes = [Outcome(shipment=shipment, promise=promised) for shipment in shipments]
    outcome = outcomes[0]
    outcome.events.append(promise)
    if substituted is not None and order.requested_courier is not None:
        fee = order.courier_fee
        outcome.events.append(
            CourierSubstituted(
                shipment_id=first,
                requested=order.requested_courier,
                courier=courier,
                reason=substituted,
                courier_fee=Money.model_validate(fee) if fee and fee["amount"] else None,
                cash_on_delivery=Money.model_validate(cod) if cod else None,
            )
        )
    if not timing.waits:
        for parcel, shipment in zip(outcomes, shipments, strict=True):
            parcel += dispatched(order, shipment)
        return outcomes
    if not timing.warehouse_steps:
        due = now + timedelta(seconds=timing.ship_delay_seconds)
        outcome.timers[(SHIP, order.order_id)] = due
    outcome.timers[(SHIP_BY, ship_by_key(order.order_id, promised))] = timing.ship_by_due(
        promised, now
    )
    return outcomes


def without_courier_fee(cod: dict[str, Any], fee: dict[str, Any] | None) -> dict[str, Any]:
    """What the courier collects once a surcharge not honoured is taken off (never below 0;
    a fee in another currency is not taken off)."""
    if not fee or fee.get("currency") != cod.get("currency"):
        return cod
    return {**cod, "amount": max(int(cod["amount"]) - int(fee["amount"]), 0)}


def dispatched(order: Fulfilment, shipment: Shipment) -> Outcome:
    """The parcel is to leave: its booking with the courier, keyed by the shipment."""
    address = order.address or {}
    parcel: dict[str, Any] = {
        "shipment_id": shipment.shipment_id,
        "order_id": order.order_id,
        "city": str(address.get("city", "")),
        "region": address.get("region"),
        "country": str(address.get("country", "")),
        "items": sum(int(line["quantity"]) for line in shipment.goods(order.lines)),
        # the label's recipient, reachable by the address's phone or else the contact's
        "address": {**address, "phone": address.get("phone") or order.phone} if address else None,
    }
    booking = (shipment.shipment_id, {"courier": shipment.courier, "parcel": parcel})
    # No timer to cancel: at once there is none, and after the delay it is the SHIP timer
    # firing this very dispatch (the poller marks it fired).
    return Outcome(booking=booking)


def shipped(
    order: Fulfilment, shipment: Shipment, tracking: str, now: datetime, timing: Timing
) -> Outcome:
    """The courier took the parcel: it is on its way, watched for silence."""
    calendar = timing.calendar
    expected = calendar.add_working_days(calendar.local_date(now), timing.delivery_days)
    cod = shipment.cash_on_delivery
    event = ShipmentShipped(
        shipment_id=shipment.shipment_id,
        courier=shipment.courier,
        tracking_number=tracking,
        lines=tuple(OrderLine.model_validate(line) for line in shipment.goods(order.lines)),
        address=Address.model_validate(order.address),
        shipped_at=now,
        cash_on_delivery=Money.model_validate(cod) if cod else None,
        expected_delivery_date=expected,
        parcel=_number(shipment),
    )
    left = replace(
        shipment,
        status=ParcelStatus.SHIPPED,
        tracking_number=tracking,
        shipped_at=now,
        expected_date=expected,
    )
    timers = _unwatched(shipment, timing) | {
        (SILENCE, shipment.shipment_id): timing.silence_due(now)
    }
    return Outcome(shipment=left, timers=timers, events=[event])


def stopped(shipments: Sequence[Shipment], reason: str, timing: Timing) -> list[Outcome]:
    """An order's pending shipments that will not leave (every one of them: a stop is
    never taken while one of its parcels is on its way), told once for the order."""
    outcomes = [
        Outcome(shipment=replace(s, status=ParcelStatus.CANCELLED), timers=_unwatched(s, timing))
        for s in shipments
    ]
    if outcomes:
        outcomes[0].events.append(ShipmentCancelled(reason=reason))
    return outcomes


def _number(shipment: Shipment) -> ParcelNumber:
    return ParcelNumber(number=shipment.parcel_number, of=shipment.parcel_count)


def _unwatched(shipment: Shipment, timing: Timing) -> dict[tuple[str, str], datetime | None]:
    """The pending parcel's dispatch and ship-by timers, cancelled; none when parcels leave
    at once, as `opened` then sets neither. (Were the delay or the warehouse steps switched
    off while a parcel waited, its timers would fire on a parcel no longer pending and do
    nothing.)"""
    if not timing.waits:
        return {}
    return {
        (SHIP, shipment.order_id): None,
        (SHIP_BY, ship_by_key(shipment.order_id, shipment.expected_date)): None,
    }


def tracked(
    shipment: Shipment,
    cp: Checkpoint,
    timing: Timing,
    now: datetime,
    *,
    attempts: int = 0,
    lines: Sequence[dict[str, Any]] = (),
) -> Outcome:
    """A new checkpoint: the parcel only moves forward; every one joins the timeline.
    `attempts`: the failed delivery attempts of the parcel, this one included (for a
    failed attempt); `lines`: the order's, of which the parcel's go back on the shelf when
    this checkpoint says the parcel is back at the shop. The silence watch stops once the parcel is
    delivered or goes back: no delay is told of a parcel on its way to the shop."""
    limit = timing.max_delivery_attempts
    last_attempt = cp.status is CheckpointStatus.FAILED_ATTEMPT and 0 < limit <= attempts
    step = track(shipment.status, cp.status, last_attempt=last_attempt)
    delivered = step.announce == "delivered"
    last = shipment.last_checkpoint_at
    moved = replace(
        shipment,
        status=step.status,
        last_checkpoint_at=max(last, cp.checkpoint_at) if last else cp.checkpoint_at,
        delivered_at=shipment.delivered_at or (cp.checkpoint_at if delivered else None),
    )
    silence = timing.silence_due(now) if is_open(step.status) else None
    event = _announcement(shipment, cp, step.announce)
    outcome = Outcome(
        shipment=moved,
        timers={(SILENCE, shipment.shipment_id): silence},
        events=[event] if event is not None else [],
    )
    if step.home:
        outcome += back_at_shop(moved, lines, cp.checkpoint_at)
    return outcome


class NotReturning(Exception):
    """A parcel received back that was not going back to the shop (its `status` says
    where it is instead)."""

    def __init__(self, status: ParcelStatus) -> None:
        super().__init__(f"the parcel is {status.value}, not on its way back to the shop")
        self.status = status


def received_back(shipment: Shipment, lines: Sequence[dict[str, Any]], at: datetime) -> Outcome:
    """The warehouse received a parcel back that the courier never reported there: as the
    courier's report would be taken (`back_at_shop`). A parcel back already changes no
    more; one not going back raises NotReturning (the courier has not turned it back)."""
    if shipment.status is ParcelStatus.RETURNED:
        return Outcome()
    if shipment.status is not ParcelStatus.RETURNING:
        raise NotReturning(shipment.status)
    return back_at_shop(shipment, lines, at)


def back_at_shop(shipment: Shipment, lines: Sequence[dict[str, Any]], at: datetime) -> Outcome:
    """A parcel going back is at the shop (the courier's report, or the warehouse's): its
    goods (of the order's `lines`) go back on the shelf and the shop is told, once (the
    parcel is then `returned`, which takes this no more)."""
    restocked = goods(shipment.goods(lines))
    event = ShipmentReturnedToShop(
        shipment_id=shipment.shipment_id,
        courier=shipment.courier,
        tracking_number=str(shipment.tracking_number),
        returned_at=at,
        restocked=restocked,
    )
    home = replace(shipment, status=ParcelStatus.RETURNED, returned_at=at)
    return Outcome(
        shipment=home,
        timers={(SILENCE, shipment.shipment_id): None},
        events=[event],
        restock=restocked,
    )


def goods(lines: Sequence[dict[str, Any]]) -> tuple[LineQuantity, ...]:
    """An order's lines (as logistics keeps them) as the quantities a parcel carries."""
    return tuple(
        LineQuantity(line_id=x["line_id"], sku=x["sku"], quantity=int(x["quantity"])) for x in lines
    )


def _announcement(shipment: Shipment, cp: Checkpoint, announce: Announcement) -> Event | None:
    """The event a checkpoint is told as: a timeline step, out for delivery, delivered, or
    the parcel turned back (refused at the door, or undeliverable)."""
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
        # what the courier's report says it collected; a report that does not say, the
        # amount due (a courier hands over a parcel only once paid)
        cod = shipment.cash_on_delivery
        cash = (cp.collected or cod) if cod else None
        return ShipmentDelivered(
            **ids, tracking_number=tracking, delivered_at=cp.checkpoint_at, city=cp.city,
            cash_collected=Money.model_validate(cash) if cash else None,
            parcel=_number(shipment),
        )  # fmt: skip
    if announce == "refused" or announce == "undeliverable":
        return ShipmentRefused(
            **ids, tracking_number=tracking, reason=announce, refused_at=cp.checkpoint_at,
            city=cp.city, description=cp.description,
        )  # fmt: skip
    return None


def late_to_ship(shipment: Shipment, timing: Timing, now: datetime) -> Outcome:
    """The promise is missed: the customer is told the new date, and that one is watched."""
    if shipment.status is not ParcelStatus.PENDING:
        return Outcome()
    later = timing.calendar.later_date(shipment.expected_date, now)
    outcome = _delayed(shipment, "not_shipped_by_promise", later)
    outcome.promise = later
    outcome.timers[(SHIP_BY, ship_by_key(shipment.order_id, later))] = timing.ship_by_due(
        later, now
    )
    return outcome


def silent(shipment: Shipment, timing: Timing, now: datetime) -> Outcome:
    """No checkpoint for the configured time: the customer is told the new date."""
    if shipment.status not in _ON_ITS_WAY:
        return Outcome()
    later = timing.calendar.later_date(shipment.expected_date, now)
    return _delayed(shipment, "no_checkpoint", later)


def _delayed(shipment: Shipment, reason: str, later: date) -> Outcome:
    delayed = ShipmentDelayed(
        reason=reason,
        shipment_id=shipment.shipment_id,
        previous_date=shipment.expected_date,
        new_expected_date=later,
    )
    return Outcome(shipment=replace(shipment, expected_date=later), events=[delayed])

"""The warehouse between payment and the courier (LOGISTICS_WAREHOUSE_STEPS): a paid
order's shipment waits on the pick list (`to_pick`), is picked, packed and handed over.
Stages only move forward, one at a time; only the hand-over books the courier (and so
leads to ShipmentShipped). Pure rules: `advanced` says what a step does, the steps save it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from services.logistics.domain.shipping import ParcelStatus, Shipment
from shared.contracts.envelope import Event
from shared.contracts.events.logistics import ShipmentPacked, ShipmentPicked


class Stage(StrEnum):
    TO_PICK = "to_pick"
    PICKED = "picked"
    PACKED = "packed"
    HANDED_OVER = "handed_over"


ORDER = (Stage.TO_PICK, Stage.PICKED, Stage.PACKED, Stage.HANDED_OVER)
_OFF_THE_SHELF = (Stage.PICKED, Stage.PACKED)  # a stopped shipment's goods to put back
# one parcel per shipment for now: several would each need their own booking and label
MAX_PARCELS = 1


@dataclass(frozen=True)
class Packing:
    weight_grams: int
    parcels: int = 1


@dataclass(frozen=True)
class WarehouseEntry:
    """A shipment as the warehouse handles it."""

    shipment_id: str
    stage: Stage
    entered_at: datetime
    picked_at: datetime | None = None
    packed_at: datetime | None = None
    handed_over_at: datetime | None = None
    weight_grams: int | None = None
    parcels: int | None = None
    put_back_at: datetime | None = None  # stopped after picking: the goods back on the shelf


class OutOfOrder(Exception):
    """A step that is not the next one: the shipment is at `current`."""

    def __init__(self, step: Stage, current: Stage) -> None:
        super().__init__(f"cannot mark the shipment {step.value}: it is {current.value}")
        self.step, self.current = step, current


class NotInWarehouse(Exception):
    """A step on a shipment that will not leave (stopped: cancelled, refunded) or that left
    without the warehouse's steps; `status` says where it is."""

    def __init__(self, status: ParcelStatus, *, without_steps: bool = False) -> None:
        why = "opened without warehouse steps" if without_steps else "not in the warehouse"
        super().__init__(f"the shipment is {status.value}, {why}: nothing to pick or pack")
        self.status = status


class NothingToPutBack(Exception):
    """Putting back the goods of a shipment that still ships (`status`), or of one stopped
    before anything was picked (`stage` to_pick)."""

    def __init__(self, status: ParcelStatus, stage: Stage) -> None:
        if status is not ParcelStatus.CANCELLED:
            why = f"the shipment is {status.value}: its goods still ship"
        else:
            why = f"the shipment was stopped at {stage.value}: nothing was picked"
        super().__init__(why)
        self.status, self.stage = status, stage


class PackingRefused(ValueError):
    """Packing the warehouse cannot record: `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Step:
    """What a warehouse step does: the entry as it becomes, the events to tell, and whether
    the courier is now to be booked (the hand-over). `repeat`: the step was done already
    and changes nothing."""

    entry: WarehouseEntry
    events: list[Event]
    hand_over: bool = False
    repeat: bool = False


def entered(shipment_id: str, now: datetime) -> WarehouseEntry:
    """A paid order's shipment on the pick list."""
    return WarehouseEntry(shipment_id=shipment_id, stage=Stage.TO_PICK, entered_at=now)


def checked_packing(packing: Packing) -> Packing:
    """The packing as given, or PackingRefused naming the field."""
    if packing.weight_grams <= 0:
        raise PackingRefused("weight_grams", "weight_grams must be a positive number of grams")
    if packing.parcels < 1:
        raise PackingRefused("parcels", "parcels must be at least 1")
    if packing.parcels > MAX_PARCELS:
        raise PackingRefused(
            "parcels", "several parcels per shipment are not supported yet: pack it as 1"
        )
    return packing


def advanced(
    entry: WarehouseEntry,
    shipment: Shipment,
    step: Stage,
    now: datetime,
    packing: Packing | None = None,
) -> Step:
    """The warehouse marks the shipment `step`. The step already made answers the same
    (a repeat of packing keeps the first weight); a stopped shipment is NotInWarehouse;
    any other step than the next is OutOfOrder."""
    if shipment.status is ParcelStatus.CANCELLED:
        raise NotInWarehouse(shipment.status)
    if step is entry.stage:
        return Step(entry, [], repeat=True)
    if step is Stage.TO_PICK or ORDER.index(step) != ORDER.index(entry.stage) + 1:
        raise OutOfOrder(step, entry.stage)
    if shipment.status is not ParcelStatus.PENDING:
        raise NotInWarehouse(shipment.status)
    sid = shipment.shipment_id
    if step is Stage.PICKED:
        moved = replace(entry, stage=step, picked_at=now)
        return Step(moved, [ShipmentPicked(shipment_id=sid, picked_at=now)])
    if step is Stage.PACKED:
        if packing is None:
            raise PackingRefused("weight_grams", "packing needs weight_grams and parcels")
        p = checked_packing(packing)
        moved = replace(
            entry, stage=step, packed_at=now, weight_grams=p.weight_grams, parcels=p.parcels
        )
        event = ShipmentPacked(
            shipment_id=sid, packed_at=now, weight_grams=p.weight_grams, parcels=p.parcels
        )
        return Step(moved, [event])
    return Step(replace(entry, stage=step, handed_over_at=now), [], hand_over=True)


def put_back(entry: WarehouseEntry, shipment: Shipment, now: datetime) -> WarehouseEntry:
    """The goods of a shipment stopped after they were picked (or packed) are back on the
    shelf. Saying it again keeps the first time; NothingToPutBack for a shipment that
    still ships or had nothing picked."""
    if shipment.status is not ParcelStatus.CANCELLED or entry.stage not in _OFF_THE_SHELF:
        raise NothingToPutBack(shipment.status, entry.stage)
    return entry if entry.put_back_at is not None else replace(entry, put_back_at=now)

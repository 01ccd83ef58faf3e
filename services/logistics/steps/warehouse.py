"""Warehouse steps (LOGISTICS_WAREHOUSE_STEPS): a paid order's shipment enters the pick
list, then the warehouse picks, packs and hands it over; the hand-over records the courier
booking, which the effects worker makes after commit (steps.shipping `BOOKER`), and so only
it leads to ShipmentShipped.

A step locks the order, then the shipment, as a stop (steps.shipping `stop`) does, so a
hand-over and a cancellation are one wholly before the other: a stopped shipment is not
handed over, a handed-over one is on its way.
"""

from __future__ import annotations

from services.logistics import repository as repo
from services.logistics.deps import Deps
from services.logistics.domain import shipments, warehouse
from services.logistics.domain.shipping import Outcome, Shipment
from services.logistics.domain.warehouse import (
    NotInWarehouse,
    Packing,
    Stage,
    WarehouseEntry,
)
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)


async def enter(unit: Unit[Deps], shipment_id: str) -> None:
    """The shipment just opened waits on the pick list."""
    await repo.save_warehouse_entry(unit.conn, warehouse.entered(shipment_id, unit.now))


async def advance(
    unit: Unit[Deps], shipment_id: str, step: Stage, packing: Packing | None = None
) -> tuple[Shipment, WarehouseEntry] | None:
    """The warehouse marks the shipment `step`: the shipment and its warehouse entry as
    they now are (a repeat answers the same), None for an unknown shipment. OutOfOrder,
    NotInWarehouse or PackingRefused when the step cannot be taken."""
    order_id = await repo.order_of_shipment(unit.conn, shipment_id)
    if order_id is None:
        return None
    known = await repo.warehouse_entry(unit.conn, shipment_id, lock=False)
    if known is not None and known.stage is Stage.HANDED_OVER:
        # Final: only the courier's booking moves the shipment now, so a repeat is
        # answered from what is stored, without waiting on the booking's locks.
        left = await repo.shipment_by_id(unit.conn, shipment_id, lock=False)
        assert left is not None, "a shipment handed over is kept"
        warehouse.advanced(known, left, step, unit.now, packing)  # a repeat, or refused
        return left, known
    order = await repo.fulfilment(unit.conn, order_id)
    shipment = await repo.shipment_by_id(unit.conn, shipment_id)
    assert order is not None and shipment is not None, "a shipment's order is kept"
    entry = await repo.warehouse_entry(unit.conn, shipment_id)
    if entry is None:
        raise NotInWarehouse(shipment.status, without_steps=True)
    done = warehouse.advanced(entry, shipment, step, unit.now, packing)
    if done.repeat:
        return shipment, entry
    await repo.save_warehouse_entry(unit.conn, done.entry)
    outcome = Outcome(events=list(done.events))
    if done.hand_over:
        outcome += shipments.dispatched(order, shipment)
    await repo.record(unit, order_id, outcome)
    log.info("warehouse step", shipment_id=shipment_id, stage=step.value)
    return shipment, done.entry


async def put_back(unit: Unit[Deps], shipment_id: str) -> tuple[Shipment, WarehouseEntry] | None:
    """The goods of a shipment stopped after picking are back on the shelf: the shipment
    and its entry (a repeat answers the same), None for an unknown shipment.
    NotInWarehouse for one opened without warehouse steps, NothingToPutBack for one that
    still ships or had nothing picked."""
    order_id = await repo.order_of_shipment(unit.conn, shipment_id)
    if order_id is None:
        return None
    await repo.fulfilment(unit.conn, order_id)  # the order first, as a stop locks it
    shipment = await repo.shipment_by_id(unit.conn, shipment_id)
    entry = await repo.warehouse_entry(unit.conn, shipment_id)
    assert shipment is not None, "a shipment is kept"
    if entry is None:
        raise NotInWarehouse(shipment.status, without_steps=True)
    back = warehouse.put_back(entry, shipment, unit.now)
    if back is not entry:
        await repo.save_warehouse_entry(unit.conn, back)
        log.info("put back on the shelf", shipment_id=shipment_id, stage=entry.stage.value)
    return shipment, back

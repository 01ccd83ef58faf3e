"""Stock steps: reserve, give back, consume and restock an order's units, stock the demo
catalogue, and read a SKU's rows.

Every change to a stock row goes through `_moved`, which publishes StockRanLow once per
downward crossing of the row's threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from services.logistics import metrics
from services.logistics import repository as repo
from services.logistics.deps import Deps
from services.logistics.domain.stock import (
    Count,
    Fulfilment,
    StockLevel,
    allocate,
    low_stock_change,
    wanted_per_sku,
)
from shared.contracts.events.common import LineQuantity
from shared.contracts.events.logistics import (
    ShortLine,
    StockRanLow,
    StockRanShort,
    StockReleased,
    StockReserved,
)
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)


async def reserve(unit: Unit[Deps], order: Fulfilment) -> Fulfilment:
    """All or nothing: holds every line's units, or publishes StockRanShort and holds none.
    Returns the order reserved or short."""
    wanted = wanted_per_sku((line["sku"], int(line["quantity"])) for line in order.lines)
    allocations, shortfalls = allocate(wanted, await repo.lock_stock(unit.conn, list(wanted)))
    if shortfalls:
        short = replace(order, state="short")
        await repo.save_fulfilment(unit.conn, short)
        lines = tuple(
            ShortLine(sku=s.sku, requested=s.requested, available=s.available) for s in shortfalls
        )
        await unit.emit(StockRanShort(lines=lines), order_id=order.order_id)
        unit.after_commit(metrics.STOCK_OUTS.inc)
        return short
    promised = unit.deps.calendar.promised_ship_date(unit.now)
    reserved = replace(order, state="reserved", promised_ship_date=promised)
    levels = await repo.hold_units(unit.conn, order.order_id, allocations, promised)
    for a in allocations:
        await _moved(unit, levels[(a.sku, a.warehouse)])
    held = tuple(
        LineQuantity(line_id=x["line_id"], sku=x["sku"], quantity=x["quantity"])
        for x in order.lines
    )
    await unit.emit(StockReserved(lines=held, promised_ship_date=promised), order_id=order.order_id)
    return reserved


async def give_back(unit: Unit[Deps], order_id: str, reason: str) -> None:
    """Gives the order's held units back (only while they are held, so only once)."""
    for level in await repo.unhold_units(unit.conn, order_id, state="released"):
        await _moved(unit, level)
    await unit.emit(StockReleased(reason=reason), order_id=order_id)


async def consume(unit: Unit[Deps], order_id: str, shipment_id: str) -> None:
    """A parcel left the warehouse: the units it took leave the shelf (the order is shipped
    once all its parcels have)."""
    await repo.ship_units(unit.conn, order_id, shipment_id)


async def restock(
    unit: Unit[Deps], order_id: str, return_id: str, lines: Sequence[LineQuantity]
) -> None:
    """Returned goods go back on the shelf they came from, once per return (`return_id`:
    a refund request's, or the shipment's of a parcel that came back undelivered)."""
    if not await repo.mark_restocked(unit.conn, return_id, order_id):
        log.debug("return already restocked", return_id=return_id)
        return
    came_from = {a.sku: a.warehouse for a in await repo.reservations(unit.conn, order_id)}
    default = unit.deps.settings.default_warehouse
    back = sorted(
        (sku, came_from.get(sku, default), quantity)
        for sku, quantity in wanted_per_sku((x.sku, x.quantity) for x in lines).items()
    )
    for level in await repo.put_back(unit.conn, back) if back else []:
        await _moved(unit, level)


async def counted(unit: Unit[Deps], count: Count) -> StockLevel:
    """Records a count the shelf can hold (what orders hold is withdrawn first)."""
    level = await repo.put_stock(unit.conn, count)
    await _moved(unit, level)
    return level


async def stock_missing(unit: Unit[Deps], items: Sequence[dict[str, Any]]) -> int:
    """Stocks every catalogue SKU the default warehouse does not hold yet; how many."""
    warehouse = unit.deps.settings.default_warehouse
    added = 0
    for item in items:
        added += await repo.add_stock_if_absent(
            unit.conn,
            item["sku"],
            warehouse,
            item["name"],
            item.get("variant"),
            item["on_hand"],
            item["low_stock_threshold"],
        )
    return added


async def rows_of(unit: Unit[Deps], sku: str) -> list[dict[str, Any]]:
    """The SKU's stock rows, one per warehouse."""
    return await repo.stock_of(unit.conn, sku)


async def _moved(unit: Unit[Deps], level: StockLevel) -> None:
    change = low_stock_change(level.available, level.threshold, level.warned)
    if change is None:
        return
    await repo.set_warned(unit.conn, level.sku, level.warehouse, change == "warn")
    if change == "warn":
        log.info("low stock", sku=level.sku, warehouse=level.warehouse, available=level.available)
        warning = StockRanLow(
            sku=level.sku,
            available=max(0, level.available),
            threshold=level.threshold,
            warehouse=level.warehouse,
        )
        await unit.emit(warning, order_id=None)

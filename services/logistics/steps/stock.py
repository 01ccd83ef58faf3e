"""Stock steps: reserve, give back, consume and restock an order's units, stock the demo
catalogue, and read a SKU's rows.

Every change to a stock row goes through `moved`, which publishes StockRanLow once per
downward crossing of the row's threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from services.logistics import metrics
from services.logistics import repository as repo
from services.logistics.deps import Deps
from services.logistics.domain import backorders
from services.logistics.domain.stock import (
    Allocation,
    Count,
    Fulfilment,
    StockLevel,
    allocate,
    low_stock_change,
    wanted_per_sku,
)
from services.logistics.repository import backorders as bo_repo
from shared.contracts.events.common import LineQuantity
from shared.contracts.events.logistics import (
    ShortLine,
    StockBackordered,
    StockRanLow,
    StockRanShort,
    StockReleased,
    StockReserved,
)
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)


async def reserve(unit: Unit[Deps], order: Fulfilment) -> Fulfilment:
    """Holds every line's units; when some are short, holds what is there and opens the
    order's backorder (`backordered`), or, when the order may not wait (cash on delivery,
    backorders off, nothing of it in stock), publishes StockRanShort and holds none.
    Returns the order reserved, backordered or short."""
    wanted = wanted_per_sku((line["sku"], int(line["quantity"])) for line in order.lines)
    levels = await repo.lock_stock(unit.conn, list(wanted))
    allocations, shortfalls = allocate(wanted, levels)
    if shortfalls:
        settings = unit.deps.settings
        if backorders.may_backorder(order.payment_method, settings.backorders):
            there, shorts = backorders.split(order.lines, levels)
            if there:
                return await _backordered(unit, order, there, shorts)
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
    levels_now = await repo.hold_units(unit.conn, order.order_id, allocations, promised)
    for a in allocations:
        await moved(unit, levels_now[(a.sku, a.warehouse)])
    held = tuple(
        LineQuantity(line_id=x["line_id"], sku=x["sku"], quantity=x["quantity"])
        for x in order.lines
    )
    await unit.emit(StockReserved(lines=held, promised_ship_date=promised), order_id=order.order_id)
    return reserved


async def _backordered(
    unit: Unit[Deps],
    order: Fulfilment,
    there: Sequence[Allocation],
    shorts: Sequence[backorders.Short],
) -> Fulfilment:
    """Holds what is there and tells the customer what is short, with the deadline to
    choose and the date the SKUs are expected back."""
    settings = unit.deps.settings
    backordered = replace(order, state="backordered")
    await repo.set_state(unit.conn, order.order_id, "backordered")
    for level in (await bo_repo.hold_more(unit.conn, order.order_id, there)).values():
        await moved(unit, level)
    choose_by = unit.now + timedelta(seconds=settings.backorder_choice_seconds)
    backorder = backorders.Backorder(
        order_id=order.order_id,
        state="open",
        lines=tuple(shorts),
        choose_by=choose_by,
        default_choice=settings.backorder_default,
        queued_at=order.placed_at or unit.now,
    )
    await bo_repo.save(unit.conn, backorder)
    await unit.schedule(backorders.CHOICE, order.order_id, choose_by)
    restock = await bo_repo.restock_dates(unit.conn, [x.sku for x in shorts])
    told = StockBackordered(
        lines=backorders.told(shorts, restock),
        choose_by=choose_by,
        default_choice=backorder.default_choice,
        restock_expected=backorders.latest_restock(shorts, restock),
    )
    await unit.emit(told, order_id=order.order_id)
    log.info("order backordered", short=sum(x.quantity for x in shorts))
    unit.after_commit(metrics.STOCK_OUTS.inc)
    metrics.backorder(unit, "opened")
    return backordered


async def give_back(unit: Unit[Deps], order_id: str, reason: str) -> list[str]:
    """Gives the order's held units back (only while they are held, so only once); the
    SKUs that came back."""
    levels = await repo.unhold_units(unit.conn, order_id, state="released")
    for level in levels:
        await moved(unit, level)
    await unit.emit(StockReleased(reason=reason), order_id=order_id)
    return [level.sku for level in levels]


async def consume(unit: Unit[Deps], order_id: str, shipment_id: str) -> None:
    """A parcel left the warehouse: the units it took leave the shelf (the order is shipped
    once all its parcels have)."""
    await repo.ship_units(unit.conn, order_id, shipment_id)


async def restock(
    unit: Unit[Deps], order_id: str, return_id: str, lines: Sequence[LineQuantity]
) -> list[str]:
    """Returned goods go back on the shelf they came from, once per return (`return_id`:
    a refund request's, or the shipment's of a parcel that came back undelivered); the
    SKUs put back."""
    if not await repo.mark_restocked(unit.conn, return_id, order_id):
        log.debug("return already restocked", return_id=return_id)
        return []
    came_from = {a.sku: a.warehouse for a in await repo.reservations(unit.conn, order_id)}
    default = unit.deps.settings.default_warehouse
    back = sorted(
        (sku, came_from.get(sku, default), quantity)
        for sku, quantity in wanted_per_sku((x.sku, x.quantity) for x in lines).items()
    )
    for level in await repo.put_back(unit.conn, back) if back else []:
        await moved(unit, level)
    return [sku for sku, _, _ in back]


async def counted(unit: Unit[Deps], count: Count) -> StockLevel:
    """Records a count the shelf can hold (what orders hold is withdrawn first)."""
    level = await repo.put_stock(unit.conn, count)
    await moved(unit, level)
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


async def moved(unit: Unit[Deps], level: StockLevel) -> None:
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

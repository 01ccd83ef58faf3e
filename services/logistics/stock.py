"""Stock operations inside a unit of work: reserve, release, restock, a recount, and the
low-stock warning.

Every change to a stock row goes through `_moved`, which publishes StockRanLow
once per downward crossing of the row's threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.logistics import repository as repo
from services.logistics.deps import deps_of
from services.logistics.domain import (
    StockLevel,
    Withdrawal,
    allocate,
    low_stock_change,
    recount,
    wanted_per_sku,
)
from services.logistics.repository import Fulfilment
from shared.contracts.events.common import LineQuantity
from shared.contracts.events.logistics import (
    ShortLine,
    StockRanLow,
    StockRanShort,
    StockReleased,
    StockReserved,
)
from shared.contracts.events.order import OrderPlaced
from shared.logging import get_logger
from shared.unit import Unit


class CountBelowParcels(Exception):
    """A count below the units of parcels already handed to the courier: those are not
    on the shelf to be counted, so the count cannot be right. Nothing is recorded."""

    def __init__(self, sku: str, warehouse: str, on_hand: int, in_parcels: int) -> None:
        super().__init__(
            f"{sku} in {warehouse}: on_hand {on_hand} leaves out {in_parcels} units"
            " of parcels already handed to the courier"
        )
        self.in_parcels = in_parcels


log = get_logger(__name__)


async def reserve(unit: Unit, order_id: str, placed: OrderPlaced) -> Fulfilment | None:
    """All or nothing: holds every line's units, or publishes StockRanShort and holds none.
    Returns the reserved order, or None (a shortage, or an order seen before)."""
    if await repo.fulfilment(unit.conn, order_id) is not None:
        log.info("order already known; not reserved again")
        return None
    wanted = wanted_per_sku((line.sku, line.quantity) for line in placed.lines)
    allocations, shortfalls = allocate(wanted, await repo.lock_stock(unit.conn, list(wanted)))
    calendar = deps_of(unit).calendar
    record = Fulfilment(
        order_id=order_id,
        state="short" if shortfalls else "reserved",
        payment_method=placed.payment_method.value,
        lines=[line.model_dump(mode="json") for line in placed.lines],
        address=placed.address.model_dump(mode="json"),
        total=placed.total.model_dump(mode="json"),
        correlation_id=unit.correlation_id,
        placed_at=unit.now,
        paid_at=None,
        promised_ship_date=None if shortfalls else calendar.promised_ship_date(unit.now),
    )
    await repo.insert_fulfilment(unit.conn, record)
    if shortfalls:
        short = tuple(
            ShortLine(sku=s.sku, requested=s.requested, available=s.available) for s in shortfalls
        )
        await unit.emit(StockRanShort(lines=short), order_id=order_id)
        return None
    await repo.add_reservations(unit.conn, order_id, allocations)
    for a in allocations:
        await _moved(
            unit, await repo.adjust_stock(unit.conn, a.sku, a.warehouse, reserved=a.quantity)
        )
    held = tuple(
        LineQuantity(line_id=x.line_id, sku=x.sku, quantity=x.quantity) for x in placed.lines
    )
    assert record.promised_ship_date is not None
    await unit.emit(
        StockReserved(lines=held, promised_ship_date=record.promised_ship_date), order_id=order_id
    )
    return record


async def release(unit: Unit, record: Fulfilment, reason: str) -> None:
    """Gives the order's held units back (only while they are held, so only once)."""
    for a in await repo.reservations(unit.conn, record.order_id):
        level = await repo.adjust_stock(unit.conn, a.sku, a.warehouse, reserved=-a.quantity)
        await _moved(unit, level)
    await repo.set_state(unit.conn, record.order_id, "released")
    await unit.emit(StockReleased(reason=reason), order_id=record.order_id)


async def consume(unit: Unit, order_id: str) -> None:
    """The parcel left the warehouse: the held units leave the shelf."""
    for a in await repo.reservations(unit.conn, order_id):
        await repo.adjust_stock(
            unit.conn, a.sku, a.warehouse, on_hand=-a.quantity, reserved=-a.quantity
        )
    await repo.set_state(unit.conn, order_id, "shipped")


async def restock(
    unit: Unit, order_id: str, refund_request_id: str, lines: Sequence[LineQuantity]
) -> None:
    """Returned goods go back on the shelf they came from, once per return."""
    if not await repo.mark_restocked(unit.conn, refund_request_id, order_id):
        log.info("return already restocked", refund_request_id=refund_request_id)
        return
    came_from = {a.sku: a.warehouse for a in await repo.reservations(unit.conn, order_id)}
    default = deps_of(unit).settings.default_warehouse
    back = sorted(
        (sku, came_from.get(sku, default), quantity)
        for sku, quantity in wanted_per_sku((x.sku, x.quantity) for x in lines).items()
    )
    for sku, warehouse, quantity in back:
        await repo.ensure_stock_row(unit.conn, sku, warehouse)
        await _moved(unit, await repo.adjust_stock(unit.conn, sku, warehouse, on_hand=quantity))


async def put(
    unit: Unit,
    sku: str,
    warehouse: str,
    *,
    on_hand: int,
    threshold: int,
    name: str | None = None,
    variant: str | None = None,
) -> StockLevel:
    """Records a count. A count below what orders hold withdraws the orders that no
    longer fit (see `domain.recount`): cancelled as a stock shortage, so the order
    service refunds them with an apology; the others keep their units and ship."""
    # Every row a withdrawn order gives back is locked up front, in the reservers' order.
    holders = [h.order_id for h in await repo.holdings(unit.conn, sku, warehouse)]
    await repo.lock_stock(unit.conn, [sku, *await repo.skus_held(unit.conn, holders)])
    kept = 0  # units of orders that could not be withdrawn: their parcel is on its way
    for withdrawal in recount(on_hand, await repo.holdings(unit.conn, sku, warehouse)):
        if not await _withdraw(unit, sku, withdrawal):
            kept += withdrawal.holding.quantity
    if kept:
        raise CountBelowParcels(sku, warehouse, on_hand, kept)
    level = await repo.put_stock(
        unit.conn, sku, warehouse, on_hand=on_hand, threshold=threshold, name=name, variant=variant
    )
    await _moved(unit, level)
    return level


async def _withdraw(unit: Unit, sku: str, withdrawal: Withdrawal) -> bool:
    """An order the shelf can no longer serve: its shipment stopped, all its units given
    back, and StockRanShort told (as when an order is short at placement)."""
    from services.logistics import shipping  # shipping consumes stock: imported late

    order_id, requested = withdrawal.holding.order_id, withdrawal.holding.quantity
    record = await repo.fulfilment(unit.conn, order_id)
    if record is None or await shipping.stop(unit, record, "stock_shortage") is not None:
        log.warning("a holding order could not be withdrawn", order_id=order_id)
        return False
    log.info("order withdrawn by a short count", order_id=order_id, sku=sku)
    await release(unit, record, "stock_shortage")
    await repo.set_state(unit.conn, order_id, "short")
    short = ShortLine(sku=sku, requested=requested, available=withdrawal.available)
    await unit.emit(StockRanShort(lines=(short,)), order_id=order_id)
    return True


async def _moved(unit: Unit, level: StockLevel) -> None:
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

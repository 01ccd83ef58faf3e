"""Steps that span stock and shipping: an order taken (reserved, and shipped when it may),
ended (cancelled, closed, refunded before shipping), or withdrawn by a short count.

An order is taken in state `placed`; the events held for it (shared.held) are handled
before its units are reserved, so an order cancelled before logistics saw it placed is
never reserved, and one paid before is shipped.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.logistics import metrics
from services.logistics import repository as repo
from services.logistics.deps import Deps
from services.logistics.domain.shipping import Shipment
from services.logistics.domain.stock import (
    Count,
    CountBelowParcels,
    Fulfilment,
    StockLevel,
    recount,
)
from services.logistics.repository import exchanges as ex_repo
from services.logistics.steps import backorders, shipping, stock
from shared import held
from shared.contracts.envelope import Event
from shared.contracts.events.logistics import (
    ShipmentAlreadyDispatched,
    ShipmentStopped,
    ShortLine,
    StockRanShort,
)
from shared.contracts.events.order import OrderPlaced
from shared.logging import get_logger
from shared.messages import Handler
from shared.unit import Unit

log = get_logger(__name__)


async def take(
    unit: Unit[Deps],
    order_id: str,
    placed: OrderPlaced,
    handlers: Mapping[type[Event], Handler],
) -> None:
    """Takes a newly placed order: its held events first, then its units (all or none),
    then its shipment if it may ship already. An order seen before is not taken again."""
    await held.lock(unit.conn, order_id)
    if await repo.fulfilment(unit.conn, order_id) is not None:
        log.debug("order already known; not reserved again")
        return
    order = Fulfilment(
        order_id=order_id,
        state="placed",
        payment_method=placed.payment_method.value,
        lines=[line.model_dump(mode="json") for line in placed.lines],
        address=placed.address.model_dump(mode="json"),
        total=placed.total.model_dump(mode="json"),
        correlation_id=unit.correlation_id,
        placed_at=unit.now,
        paid_at=None,
        promised_ship_date=None,
        phone=placed.contact.phone,
        requested_courier=placed.courier,
        courier_fee=placed.courier_fee.model_dump(mode="json") if placed.courier_fee else None,
        gift_message=placed.gift_message,
        locale=placed.locale.value,
    )
    await repo.save_fulfilment(unit.conn, order)
    if await held.release(unit, order_id, handlers):  # they may have paid or ended it
        order = await repo.fulfilment(unit.conn, order_id) or order
    if order.state != "placed":
        log.info("order ended before it was reserved", state=order.state)
        return
    reserved = await stock.reserve(unit, order)
    if reserved.state == "reserved":  # only now may it ship, so it has no shipment yet
        await shipping.ship_when_ready(unit, reserved, has_shipment=False)


async def end(unit: Unit[Deps], order: Fulfilment, reason: str) -> Shipment | None:
    """Stops a shipment that has not left and gives the stock back. Returns the parcel
    already on its way (not recalled), else None. An order taken but not yet reserved is
    ended as cancelled, so it is never reserved or shipped."""
    if order.state == "placed":
        await repo.set_state(unit.conn, order.order_id, "cancelled")
        return None
    if order.state not in ("reserved", "backordered", "shipped"):
        log.debug("nothing held to release", state=order.state, reason=reason)
        return None
    left = await shipping.stop(unit, order.order_id, reason)
    if left is not None:
        log.info("parcel already shipped; not cancelled", reason=reason)
        return left
    if order.state in ("reserved", "backordered"):
        await backorders.ended(unit, order.order_id)
        freed = await stock.give_back(unit, order.order_id, reason)
        await backorders.serve(unit, freed)  # what it held goes to the orders that wait
    return None


async def refund_before_shipping(unit: Unit[Deps], order: Fulfilment, request_id: str) -> None:
    """A refund before shipping waits for this answer: the shipment stopped (and the stock
    released), or the parcel had already left. Asked again, the answer is the same."""
    released = order.state in ("reserved", "backordered")
    left = await end(unit, order, "refunded_before_shipping")
    if left is None:
        stopped = next(iter(await repo.shipments_of_order(unit.conn, order.order_id)), None)
        answer: ShipmentStopped | ShipmentAlreadyDispatched = ShipmentStopped(
            refund_request_id=request_id,
            shipment_id=stopped.shipment_id if stopped else None,
            stock_released=released,
        )
    else:
        log.info("parcel already shipped; refund before shipping refused", refund=request_id)
        answer = ShipmentAlreadyDispatched(
            refund_request_id=request_id,
            shipment_id=left.shipment_id,
            courier=left.courier,
            tracking_number=left.tracking_number,
            shipped_at=left.shipped_at,
        )
    await unit.emit(answer, order_id=order.order_id)


async def count(unit: Unit[Deps], counted: Count) -> StockLevel:
    """Records a count. A count below what orders hold withdraws the orders that no
    longer fit (see `domain.stock.recount`): cancelled as a stock shortage, so the order
    service refunds them with an apology; the others keep their units and ship."""
    # Every row a withdrawn order gives back is locked up front, in the reservers' order.
    sku, warehouse, on_hand = counted.sku, counted.warehouse, counted.on_hand
    holders = [h.order_id for h in await repo.holdings(unit.conn, sku, warehouse)]
    await repo.lock_stock(unit.conn, [sku, *await repo.skus_held(unit.conn, holders)])
    kept = 0  # units of orders that could not be withdrawn: their parcel is on its way
    # an exchange's replacement is for goods already delivered: it keeps its units first
    left = max(0, on_hand - await ex_repo.held_on(unit.conn, sku, warehouse))
    for withdrawal in recount(left, await repo.holdings(unit.conn, sku, warehouse)):
        order_id = withdrawal.holding.order_id
        short = ShortLine(
            sku=sku, requested=withdrawal.holding.quantity, available=withdrawal.available
        )
        if not await _withdraw(unit, order_id, short):
            kept += withdrawal.holding.quantity
    if kept:
        raise CountBelowParcels(sku, warehouse, on_hand, kept)
    level = await stock.counted(unit, counted)
    await backorders.serve(unit, [sku])  # a count above what is held serves the waiting
    return level


async def _withdraw(unit: Unit[Deps], order_id: str, short: ShortLine) -> bool:
    """An order the shelf can no longer serve: its shipment stopped, all its units given
    back, and StockRanShort told (as when an order is short at placement)."""
    order = await repo.fulfilment(unit.conn, order_id)
    if order is None or await shipping.stop(unit, order_id, "stock_shortage") is not None:
        log.warning("a holding order could not be withdrawn", order_id=order_id)
        return False
    log.info("order withdrawn by a short count", order_id=order_id, sku=short.sku)
    await backorders.ended(unit, order_id)
    await stock.give_back(unit, order_id, "stock_shortage")
    await repo.set_state(unit.conn, order_id, "short")
    await unit.emit(StockRanShort(lines=(short,)), order_id=order_id)
    unit.after_commit(metrics.STOCK_OUTS.inc)
    return True

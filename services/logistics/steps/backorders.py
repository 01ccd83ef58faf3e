"""Backorder steps: the customer's choice (or the deadline's default), goods received for
the orders that wait, and a backorder ended with its order.

An order is backordered at placement (`steps.stock.reserve`). Every step here locks the
order's record first and its backorder after, as the other steps of an order do; serving a
restock locks the stock rows first (as a count does), then each order it serves.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from services.logistics import metrics
from services.logistics import repository as repo
from services.logistics.deps import Deps
from services.logistics.domain import backorders as domain
from services.logistics.domain.backorders import QUEUED, Backorder, ChosenBy
from services.logistics.domain.stock import Fulfilment
from services.logistics.repository import backorders as bo_repo
from services.logistics.steps import shipping, stock
from shared.contracts.events.common import BackorderChoice, LineQuantity
from shared.contracts.events.logistics import (
    BackorderDropped,
    BackorderFilled,
    BackorderWaiting,
    StockReserved,
)
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)


async def choose(
    unit: Unit[Deps], order: Fulfilment, choice: BackorderChoice, chosen_by: ChosenBy
) -> None:
    """Applies the answer to an open backorder (`order` locked by the caller). Once the
    backorder has an answer, the default, a fill or the order's end, nothing changes."""
    backorder = await bo_repo.of_order(unit.conn, order.order_id)
    if backorder is None or backorder.state != "open" or order.state != "backordered":
        state = backorder.state if backorder else None
        log.info("backorder not open; the choice changes nothing", backorder=state)
        return
    await unit.cancel_timer(domain.CHOICE, order.order_id)
    if choice == "ship_available":
        await _drop(unit, order, backorder, chosen_by)
    else:
        await _wait(unit, backorder, chosen_by)


async def deadline(unit: Unit[Deps], order_id: str) -> None:
    """The deadline to choose passed: the default applies to a backorder still open."""
    order = await repo.fulfilment(unit.conn, order_id)
    backorder = await bo_repo.of_order(unit.conn, order_id)
    if order is None or backorder is None or backorder.state != "open":
        return
    await choose(unit, order, backorder.default_choice, "default")


async def _drop(
    unit: Unit[Deps], order: Fulfilment, backorder: Backorder, chosen_by: ChosenBy
) -> None:
    """What is held ships; the units still short are dropped (returns refunds them)."""
    restock = await bo_repo.restock_dates(unit.conn, [x.sku for x in backorder.lines])
    dropped = domain.told(backorder.lines, restock)
    ships = domain.shipping_lines(order.lines, backorder)
    await bo_repo.save(unit.conn, replace(backorder, state="dropped", chosen_by=chosen_by))
    await bo_repo.set_lines(unit.conn, order.order_id, ships)
    await unit.emit(BackorderDropped(dropped=dropped, chosen_by=chosen_by), order_id=order.order_id)
    log.info("backorder dropped", chosen_by=chosen_by, units=sum(x.quantity for x in dropped))
    metrics.backorder(unit, "dropped", chosen_by)
    await _reserved(unit, replace(order, lines=ships))


async def _wait(unit: Unit[Deps], backorder: Backorder, chosen_by: ChosenBy) -> None:
    """The order waits in the queue, where it has stood since it was placed."""
    restock = await bo_repo.restock_dates(unit.conn, [x.sku for x in backorder.lines])
    await bo_repo.save(unit.conn, replace(backorder, state="waiting", chosen_by=chosen_by))
    waiting = BackorderWaiting(
        lines=domain.told(backorder.lines, restock),
        restock_expected=domain.latest_restock(backorder.lines, restock),
        chosen_by=chosen_by,
    )
    await unit.emit(waiting, order_id=backorder.order_id)
    metrics.backorder(unit, "waiting", chosen_by)


async def _reserved(unit: Unit[Deps], order: Fulfilment) -> None:
    """Every unit of `order.lines` is held: the order is reserved as any other, promised a
    ship date from now, and ships once it may."""
    promised = unit.deps.calendar.promised_ship_date(unit.now)
    await repo.set_state(unit.conn, order.order_id, "reserved")
    await repo.set_promise(unit.conn, order.order_id, promised)
    lines = tuple(
        LineQuantity(line_id=x["line_id"], sku=x["sku"], quantity=int(x["quantity"]))
        for x in order.lines
    )
    reserved = StockReserved(lines=lines, promised_ship_date=promised)
    await unit.emit(reserved, order_id=order.order_id)
    ready = replace(order, state="reserved", promised_ship_date=promised)
    await shipping.ship_when_ready(unit, ready, has_shipment=False)


async def serve(unit: Unit[Deps], skus: Sequence[str]) -> list[dict[str, Any]]:
    """Stock of `skus` that is free goes to the backorders short of it, oldest first; each
    one every unit of which is then held is filled and ships whole. What each order got."""
    skus = sorted(set(skus))
    if not skus:
        return []
    levels = await repo.lock_stock(unit.conn, skus)
    served: list[dict[str, Any]] = []
    for candidate in await bo_repo.queue(unit.conn, skus, lock=False):
        if not any(lv.available > 0 for lv in levels):
            break
        order = await repo.fulfilment(unit.conn, candidate.order_id)
        backorder = await bo_repo.of_order(unit.conn, candidate.order_id)
        if order is None or backorder is None or backorder.state not in QUEUED:
            continue
        grown, allocations = domain.serve(backorder, levels)
        if not allocations:
            continue
        for level in (await bo_repo.hold_more(unit.conn, order.order_id, allocations)).values():
            await stock.moved(unit, level)
        levels = domain.after(levels, allocations)
        units = sum(a.quantity for a in allocations)
        served.append({"order_id": order.order_id, "quantity": units, "filled": grown.complete})
        if grown.complete:
            await _filled(unit, order, grown)
        else:
            await bo_repo.save(unit.conn, grown)
    return served


async def _filled(unit: Unit[Deps], order: Fulfilment, backorder: Backorder) -> None:
    await unit.cancel_timer(domain.CHOICE, order.order_id)
    await bo_repo.save(unit.conn, replace(backorder, state="filled"))
    filled = BackorderFilled(lines=domain.brought(backorder), filled_at=unit.now)
    await unit.emit(filled, order_id=order.order_id)
    log.info("backorder filled", order_id=order.order_id)
    metrics.backorder(unit, "filled")
    await _reserved(unit, order)


async def ended(unit: Unit[Deps], order_id: str) -> None:
    """The order ended (cancelled, closed, withdrawn): its backorder leaves the queue."""
    backorder = await bo_repo.of_order(unit.conn, order_id)
    if backorder is None or backorder.state not in QUEUED:
        return
    await unit.cancel_timer(domain.CHOICE, order_id)
    await bo_repo.save(unit.conn, replace(backorder, state="cancelled"))


async def restock_date(unit: Unit[Deps], sku: str, expected_on: date | None) -> int:
    """Records the date `sku` is expected back (None: not known) and tells each backorder
    still short of it whose latest date moved (`BackorderRestockDateChanged`); how many
    were told. The stock rows are locked first, as a receipt locks them, so dates set at
    once for a SKU are told one after the other; the backorders after them."""
    await repo.lock_stock(unit.conn, [sku])
    waiting = await bo_repo.queue(unit.conn, [sku], lock=True)
    skus = [sku, *(x.sku for b in waiting for x in b.lines)]
    before = await bo_repo.restock_dates(unit.conn, skus)
    await bo_repo.set_restock_date(unit.conn, sku, expected_on)
    after = {k: v for k, v in before.items() if k != sku}
    if expected_on is not None:
        after[sku] = expected_on
    moved = domain.restock_moved(waiting, sku, before, after)
    for order_id, event in moved:
        await unit.emit(event, order_id=order_id)
    log.info("restock date set", sku=sku, expected_on=expected_on, told=len(moved))
    return len(moved)


async def receive(
    unit: Unit[Deps], sku: str, warehouse: str, quantity: int, receipt_id: str | None
) -> dict[str, Any]:
    """Goods received on a warehouse's shelf, once per `receipt_id` (made when None): the
    backorders short of the SKU take them first, oldest first. What happened, the same
    for a receipt sent again (`repeated`)."""
    receipt_id = receipt_id or f"rcp_{uuid.uuid4().hex[:16]}"
    if not await bo_repo.claim_receipt(unit.conn, receipt_id, sku, warehouse, quantity, unit.now):
        before = await bo_repo.receipt(unit.conn, receipt_id)
        assert before is not None, "a receipt claimed before is recorded"
        return {**before, "repeated": True}
    await repo.lock_stock(unit.conn, [sku])
    for level in await repo.put_back(unit.conn, [(sku, warehouse, quantity)]):
        await stock.moved(unit, level)
    served = await serve(unit, [sku])
    await bo_repo.set_served(unit.conn, receipt_id, served)
    log.info("goods received", sku=sku, warehouse=warehouse, quantity=quantity)
    return {
        "receipt_id": receipt_id,
        "sku": sku,
        "warehouse": warehouse,
        "quantity": quantity,
        "served": served,
        "received_at": unit.now,
        "repeated": False,
    }

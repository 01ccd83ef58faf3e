"""Exchange steps: the replacement held when an exchange is asked, given back when it is
cancelled, sent when returns releases it, and the units returned put back on the shelf.

Each step locks the order first (the handler's read), then the exchange, then the stock
rows, as the order's own steps lock the order, then its shipments, then stock. The
courier's answer to the booking is `steps.exchange_parcels`.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.logistics import repository as repo
from services.logistics.deps import Deps
from services.logistics.domain import exchanges as domain
from services.logistics.domain import shipments
from services.logistics.domain.exchanges import Exchange, Refusal
from services.logistics.domain.shipping import courier_for
from services.logistics.domain.stock import Fulfilment
from services.logistics.repository import exchanges as ex_repo
from services.logistics.steps import backorders, shipping, stock
from shared.contracts.events.common import LineQuantity
from shared.contracts.events.logistics import ExchangeReserved, ExchangeUnavailable
from shared.contracts.events.returns import ExchangeRequested
from shared.effects import derived_id
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)


def shipment_id_of(exchange_id: str) -> str:
    """The exchange's parcel: one per exchange, so its booking's key is derived from it."""
    return derived_id("shp", "exchange", exchange_id)


async def reserve(unit: Unit[Deps], order: Fulfilment, asked: ExchangeRequested) -> None:
    """Holds the replacement for the exchange (once: asked again, nothing changes) and
    tells ExchangeReserved, or tells why it cannot (ExchangeUnavailable)."""
    if await ex_repo.of_id(unit.conn, asked.exchange_id) is not None:
        log.info("exchange already answered", exchange_id=asked.exchange_id)
        return
    line, sku = asked.line, asked.replacement_sku
    await repo.lock_stock(unit.conn, [sku])
    line_name = domain.product_name(await ex_repo.shelves(unit.conn, line.sku))
    if line_name is None:  # not stocked any more: the product the order named
        ordered = next((x for x in order.lines if x.get("line_id") == line.line_id), {})
        line_name = ordered.get("name")
    rows, owed = await ex_repo.shelves(unit.conn, sku), await ex_repo.owed(unit.conn, sku)
    decided = domain.hold(line.sku, line_name, sku, line.quantity, rows, owed)
    if isinstance(decided, Refusal):
        refused = Exchange(
            asked.exchange_id, order.order_id, "unavailable", sku, line.quantity,
            reason=decided.reason,
        )  # fmt: skip
        if await ex_repo.refused(unit.conn, refused):
            told = ExchangeUnavailable(
                exchange_id=asked.exchange_id, reason=decided.reason, message=decided.message
            )
            await unit.emit(told, order_id=order.order_id)
            log.info("exchange unavailable", exchange_id=asked.exchange_id, why=decided.reason)
        return
    latest = await ex_repo.latest_price(unit.conn, sku)
    item = domain.item(decided, domain.price(latest, order.lines, line.line_id, line.sku))
    held = Exchange(
        asked.exchange_id, order.order_id, "held", sku, line.quantity, decided.warehouse, item
    )
    level = await ex_repo.hold(unit.conn, held, item.model_dump(mode="json"))
    if level is None:
        return
    await stock.moved(unit, level)
    reserved = ExchangeReserved(
        exchange_id=asked.exchange_id, replacement=item, warehouse=decided.warehouse
    )
    await unit.emit(reserved, order_id=order.order_id)
    log.info("exchange reserved", exchange_id=asked.exchange_id, warehouse=decided.warehouse)


async def cancel(unit: Unit[Deps], exchange_id: str) -> None:
    """The exchange ended without shipping: its units are free again and go to the
    backorders that wait first. Nothing for one not held (never, given back, or its parcel
    handed to the courier's booking: that leaves whatever we decide now)."""
    exchange = await ex_repo.of_id(unit.conn, exchange_id)
    if exchange is None or exchange.state != "held":
        log.info("exchange not held; the cancellation changes nothing", exchange_id=exchange_id)
        return
    await repo.lock_stock(unit.conn, [exchange.sku])
    level = await ex_repo.unhold(unit.conn, exchange, "released", consumed=False)
    await stock.moved(unit, level)
    await backorders.serve(unit, [exchange.sku])
    log.info("exchange released", exchange_id=exchange_id)


async def release(unit: Unit[Deps], order: Fulfilment, exchange_id: str) -> None:
    """The replacement may leave: its parcel is opened to the order's address and booked
    with the courier after commit (key: the parcel, derived from the exchange). Once only,
    and never for an exchange not held (cancelled, refused, or sent already). Booked at
    once, with or without warehouse steps: the parcel is not on the order's pick list."""
    exchange = await ex_repo.of_id(unit.conn, exchange_id)
    if exchange is None or exchange.state != "held":
        state = exchange.state if exchange else None
        log.info("exchange not held; nothing ships", exchange_id=exchange_id, state=state)
        return
    region = (order.address or {}).get("region")
    turn = await repo.next_courier_turn(unit.conn)
    couriers = shipping.couriers_of(unit.deps)
    courier = courier_for(order.requested_courier, region, couriers, turn).courier
    today = unit.deps.calendar.local_date(unit.now)
    parcel = domain.parcel(exchange, shipment_id_of(exchange_id), courier, unit.now, today)
    outcome = shipments.dispatched(order, parcel)
    outcome.shipment = parcel
    await repo.record(unit, order.order_id, outcome)
    await ex_repo.shipping(unit.conn, exchange_id, parcel.shipment_id)
    log.info("exchange parcel booked", exchange_id=exchange_id, courier=courier)


async def returned(
    unit: Unit[Deps], order_id: str, exchange_id: str, lines: Sequence[LineQuantity]
) -> None:
    """The units the customer exchanged are back: on the shelf they came from, once per
    exchange, and to the backorders that wait first, as returned goods are."""
    back = await stock.restock(unit, order_id, f"exchange:{exchange_id}", lines)
    await backorders.serve(unit, back)

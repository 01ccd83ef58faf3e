"""SQL for stock, orders (fulfilments), reservations and restocks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TypeAlias

import asyncpg

from services.logistics.domain.stock import Allocation, Count, Fulfilment, Holding, StockLevel

Conn: TypeAlias = asyncpg.Connection

# --- stock -----------------------------------------------------------------

_LEVEL = """sku, warehouse, on_hand, reserved, low_stock_threshold AS threshold,
            low_stock_warned AS warned"""


def _level(row: asyncpg.Record) -> StockLevel:
    return StockLevel(**dict(row))


async def lock_stock(conn: Conn, skus: Sequence[str]) -> list[StockLevel]:
    """Locks the SKUs' rows in one fixed order (SKU, warehouse), so racing orders queue
    instead of deadlocking."""
    rows = await conn.fetch(
        f"""SELECT {_LEVEL} FROM stock WHERE sku = ANY($1::text[])
            ORDER BY sku, warehouse FOR UPDATE""",  # noqa: S608
        sorted(set(skus)),
    )
    return [_level(r) for r in rows]


async def stock_of(conn: Conn, sku: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT sku, warehouse, name, variant, on_hand, reserved, low_stock_threshold
           FROM stock WHERE sku = $1 ORDER BY warehouse""",
        sku,
    )
    return [dict(r) for r in rows]


_INSERT_STOCK = """INSERT INTO stock (sku, warehouse, name, variant, on_hand, low_stock_threshold)
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT"""
_RECOUNTED = """(sku, warehouse) DO UPDATE SET
    on_hand = EXCLUDED.on_hand, low_stock_threshold = EXCLUDED.low_stock_threshold,
    name = COALESCE(EXCLUDED.name, stock.name),
    variant = COALESCE(EXCLUDED.variant, stock.variant), updated_at = now()"""


async def put_stock(conn: Conn, count: Count) -> StockLevel:
    """Records a count (and the row's names, where given)."""
    c = count
    row = await _insert_stock(
        conn, _RECOUNTED, c.sku, c.warehouse, c.name, c.variant, c.on_hand, c.threshold
    )
    assert row is not None
    return _level(row)


async def add_stock_if_absent(
    conn: Conn,
    sku: str,
    warehouse: str,
    name: str,
    variant: str | None,
    on_hand: int,
    threshold: int,
) -> bool:
    """Stocks a row this warehouse does not hold yet; False when it holds it."""
    row = await _insert_stock(conn, "DO NOTHING", sku, warehouse, name, variant, on_hand, threshold)
    return row is not None


async def _insert_stock(conn: Conn, on_conflict: str, *values: Any) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"{_INSERT_STOCK} {on_conflict} RETURNING {_LEVEL}",
        *values,
    )


_LEVEL_OF_S = """s.sku, s.warehouse, s.on_hand, s.reserved, s.low_stock_threshold AS threshold,
            s.low_stock_warned AS warned"""


async def hold_units(
    conn: Conn, order_id: str, allocations: Sequence[Allocation], promised: date
) -> dict[tuple[str, str], StockLevel]:
    """Reserves the order: its reservations recorded, the stock rows' reserved counts
    raised (the rows are locked by `lock_stock` first) and the order marked reserved with
    its promised ship date, in one statement; the new levels by (SKU, warehouse)."""
    rows = await conn.fetch(
        f"""WITH m AS (SELECT * FROM unnest($2::text[], $3::text[], $4::int[])
                       AS m(sku, warehouse, quantity)),
                 held AS (INSERT INTO reservations (order_id, sku, warehouse, quantity)
                          SELECT $1, sku, warehouse, quantity FROM m),
                 reserved AS (UPDATE fulfilments SET state = 'reserved',
                                  promised_ship_date = $5, updated_at = now()
                              WHERE order_id = $1)
            UPDATE stock s SET reserved = s.reserved + m.quantity, updated_at = now()
            FROM m WHERE s.sku = m.sku AND s.warehouse = m.warehouse
            RETURNING {_LEVEL_OF_S}""",  # noqa: S608
        order_id,
        [a.sku for a in allocations],
        [a.warehouse for a in allocations],
        [a.quantity for a in allocations],
        promised,
    )
    levels = {(r["sku"], r["warehouse"]): _level(r) for r in rows}
    if len(levels) != len(allocations):
        raise LookupError(f"a stock row of {order_id}'s reservations is missing")
    return levels


async def unhold_units(conn: Conn, order_id: str, *, state: str) -> list[StockLevel]:
    """The order's reserved units stop being held, back on the shelf, and the order moves
    to `state`. One statement; the stock rows are locked in (SKU, warehouse) order first,
    as `lock_stock` does, so it queues behind a reservation instead of deadlocking. The new
    levels in that order."""
    rows = await conn.fetch(
        f"""WITH held AS (
                SELECT s.sku, s.warehouse, r.quantity FROM stock s
                JOIN reservations r ON r.sku = s.sku AND r.warehouse = s.warehouse
                WHERE r.order_id = $1 AND NOT r.shipped
                ORDER BY s.sku, s.warehouse FOR UPDATE OF s),
            moved AS (
                UPDATE fulfilments SET state = $2, updated_at = now() WHERE order_id = $1)
            UPDATE stock s SET reserved = s.reserved - held.quantity, updated_at = now()
            FROM held WHERE s.sku = held.sku AND s.warehouse = held.warehouse
            RETURNING {_LEVEL_OF_S}""",  # noqa: S608
        order_id,
        state,
    )
    return sorted((_level(r) for r in rows), key=lambda level: (level.sku, level.warehouse))


async def ship_units(conn: Conn, order_id: str, shipment_id: str) -> None:
    """The units of one parcel leave the shelf with it: its reserved rows (and rows reserved
    before parcels, which the order's only shipment takes) are consumed once, and the order
    is `shipped` once none of its rows is left behind. One statement, the stock rows locked
    in (SKU, warehouse) order first, as `lock_stock` does."""
    await conn.execute(
        """WITH held AS (
                SELECT s.sku, s.warehouse, r.quantity FROM stock s
                JOIN reservations r ON r.sku = s.sku AND r.warehouse = s.warehouse
                WHERE r.order_id = $1 AND NOT r.shipped
                  AND (r.shipment_id = $2 OR r.shipment_id IS NULL)
                ORDER BY s.sku, s.warehouse FOR UPDATE OF s),
            taken AS (
                UPDATE reservations r SET shipped = true FROM held
                WHERE r.order_id = $1 AND r.sku = held.sku AND r.warehouse = held.warehouse),
            moved AS (
                UPDATE fulfilments SET state = 'shipped', updated_at = now()
                WHERE order_id = $1 AND NOT EXISTS (
                    SELECT 1 FROM reservations r WHERE r.order_id = $1 AND NOT r.shipped
                      AND r.shipment_id IS DISTINCT FROM $2 AND r.shipment_id IS NOT NULL))
            UPDATE stock s SET reserved = s.reserved - held.quantity,
                on_hand = s.on_hand - held.quantity, updated_at = now()
            FROM held WHERE s.sku = held.sku AND s.warehouse = held.warehouse""",
        order_id,
        shipment_id,
    )


async def assign_units(
    conn: Conn, order_id: str, parcels: Sequence[tuple[str, Sequence[tuple[str, str]]]]
) -> None:
    """Which parcel (shipment id) takes each of the order's reserved rows (SKU, warehouse)."""
    pairs = [(shipment_id, sku, wh) for shipment_id, rows in parcels for sku, wh in rows]
    await conn.execute(
        """UPDATE reservations r SET shipment_id = m.shipment_id
           FROM unnest($2::text[], $3::text[], $4::text[]) AS m(shipment_id, sku, warehouse)
           WHERE r.order_id = $1 AND r.sku = m.sku AND r.warehouse = m.warehouse""",
        order_id,
        [p[0] for p in pairs],
        [p[1] for p in pairs],
        [p[2] for p in pairs],
    )


async def put_back(conn: Conn, returned: Sequence[tuple[str, str, int]]) -> list[StockLevel]:
    """Returned units (SKU, warehouse, quantity; one entry per row) back on their shelves,
    a row made for a SKU the warehouse did not stock; one statement, rows taken in (SKU,
    warehouse) order. The new levels in that order."""
    rows = await conn.fetch(
        f"""INSERT INTO stock AS s (sku, warehouse, on_hand)
            SELECT sku, warehouse, quantity FROM unnest($1::text[], $2::text[], $3::int[])
                AS m(sku, warehouse, quantity) ORDER BY sku, warehouse
            ON CONFLICT (sku, warehouse) DO UPDATE SET
                on_hand = s.on_hand + EXCLUDED.on_hand, updated_at = now()
            RETURNING {_LEVEL_OF_S}""",  # noqa: S608
        [sku for sku, _, _ in returned],
        [warehouse for _, warehouse, _ in returned],
        [quantity for _, _, quantity in returned],
    )
    return sorted((_level(r) for r in rows), key=lambda level: (level.sku, level.warehouse))


async def set_warned(conn: Conn, sku: str, warehouse: str, warned: bool) -> None:
    await conn.execute(
        "UPDATE stock SET low_stock_warned = $3 WHERE sku = $1 AND warehouse = $2",
        sku,
        warehouse,
        warned,
    )


# --- fulfilments and reservations --------------------------------------------


_FULFILMENT = """SELECT order_id, state, payment_method, lines, address, total, correlation_id,
        placed_at, paid_at, promised_ship_date, phone, requested_courier, courier_fee,
        gift_message, locale
    FROM fulfilments"""


async def fulfilment(conn: Conn, order_id: str) -> Fulfilment | None:
    """The order's record, locked for this transaction."""
    return _fulfilment(
        await conn.fetchrow(f"{_FULFILMENT} WHERE order_id = $1 FOR UPDATE", order_id)
    )


async def fulfilment_of_shipment(conn: Conn, shipment_id: str) -> Fulfilment | None:
    """The record of the shipment's order, locked: a step that starts from the shipment
    locks the order first and the shipment after, as every other step does, so two of
    them never wait on each other."""
    where = "WHERE order_id = (SELECT order_id FROM shipments WHERE shipment_id = $1)"
    return _fulfilment(await conn.fetchrow(f"{_FULFILMENT} {where} FOR UPDATE", shipment_id))


def _fulfilment(row: asyncpg.Record | None) -> Fulfilment | None:
    if row is None:
        return None
    values = dict(row)
    values["lines"] = values["lines"] or []
    return Fulfilment(**values)


async def order_lines(conn: Conn, order_id: str) -> list[dict[str, Any]]:
    """The order's lines, unlocked (they do not change once it is placed)."""
    lines = await conn.fetchval("SELECT lines FROM fulfilments WHERE order_id = $1", order_id)
    return list(lines or [])


async def save_fulfilment(conn: Conn, record: Fulfilment) -> None:
    """Writes the order's record whole (new, or as a decision left it)."""
    await conn.execute(
        """INSERT INTO fulfilments (order_id, state, payment_method, lines, address, total,
               correlation_id, placed_at, paid_at, promised_ship_date, phone, requested_courier,
               courier_fee, gift_message, locale)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (order_id) DO UPDATE SET state = EXCLUDED.state,
               paid_at = EXCLUDED.paid_at, promised_ship_date = EXCLUDED.promised_ship_date,
               updated_at = now()""",
        record.order_id,
        record.state,
        record.payment_method,
        record.lines,
        record.address,
        record.total,
        record.correlation_id,
        record.placed_at,
        record.paid_at,
        record.promised_ship_date,
        record.phone,
        record.requested_courier,
        record.courier_fee,
        record.gift_message,
        record.locale,
    )


async def set_state(conn: Conn, order_id: str, state: str) -> None:
    await conn.execute(
        "UPDATE fulfilments SET state = $2, updated_at = now() WHERE order_id = $1",
        order_id,
        state,
    )


async def set_paid(conn: Conn, order_id: str, paid_at: datetime) -> bool:
    """Records the payment; whether the order has a shipment already, read in the same
    statement (shipments are opened only under the order's row lock, which the caller
    holds, so none can appear meanwhile)."""
    has_shipment = await conn.fetchval(
        """UPDATE fulfilments SET paid_at = $2, updated_at = now() WHERE order_id = $1
           RETURNING EXISTS (SELECT 1 FROM shipments
                             WHERE order_id = $1 AND exchange_id IS NULL)""",
        order_id,
        paid_at,
    )
    return bool(has_shipment)


async def set_promise(conn: Conn, order_id: str, promised: date) -> None:
    await conn.execute(
        "UPDATE fulfilments SET promised_ship_date = $2, updated_at = now() WHERE order_id = $1",
        order_id,
        promised,
    )


async def reservations(conn: Conn, order_id: str) -> list[Allocation]:
    rows = await conn.fetch(
        """SELECT sku, warehouse, quantity FROM reservations WHERE order_id = $1
           ORDER BY sku, warehouse""",
        order_id,
    )
    return [Allocation(**dict(r)) for r in rows]


async def holdings(conn: Conn, sku: str, warehouse: str) -> list[Holding]:
    """The units orders still hold on one stock row (not shipped, not released), oldest
    reservation first."""
    rows = await conn.fetch(
        """SELECT r.order_id, r.quantity FROM reservations r
           JOIN fulfilments f ON f.order_id = r.order_id
           WHERE r.sku = $1 AND r.warehouse = $2 AND f.state = 'reserved' AND NOT r.shipped
           ORDER BY f.created_at, f.order_id""",
        sku,
        warehouse,
    )
    return [Holding(**dict(r)) for r in rows]


async def skus_held(conn: Conn, order_ids: Sequence[str]) -> list[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT sku FROM reservations WHERE order_id = ANY($1::text[])", list(order_ids)
    )
    return [str(r["sku"]) for r in rows]


async def mark_restocked(conn: Conn, return_id: str, order_id: str) -> bool:
    """False when this return (a refund request, or a parcel back undelivered: its
    shipment id) was put back on the shelf before."""
    result = await conn.execute(
        "INSERT INTO restocks (refund_request_id, order_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        return_id,
        order_id,
    )
    return bool(result.endswith(" 1"))


async def low_stock(conn: Conn, limit: int) -> list[dict[str, Any]]:
    """Stock at or below its low-stock threshold (out of stock included), the least
    available first: what operations reorder."""
    rows = await conn.fetch(
        """SELECT sku, warehouse, name, variant, on_hand, reserved,
                  on_hand - reserved AS available, low_stock_threshold, updated_at
           FROM stock WHERE on_hand - reserved <= low_stock_threshold
           ORDER BY on_hand - reserved, sku, warehouse LIMIT $1""",
        limit,
    )
    return [dict(r) for r in rows]
